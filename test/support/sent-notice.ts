import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { approveCampaign } from '../../lib/core/campaign/approval.js';
import { buildNotices } from '../../lib/core/campaign/plan.js';
import { routeCampaign } from '../../lib/core/campaign/route.js';
import { submitCampaign } from '../../lib/core/campaign/submit.js';
import type { Notice, Outbound } from '../../lib/core/model.js';
import { sendNotice } from '../../lib/core/notices/sending/send.js';
import type { Deps, ExecutionStatus, MailAuthenticator, Workflows } from '../../lib/core/ports.js';
import { DirectoryResolver, loadDirectory } from '../../lib/adapters/directory/directory.js';
import { startCaptureServer } from '../../lib/adapters/mail/capture-server.js';
import { SmtpMailer } from '../../lib/adapters/mail/mailer.smtp.js';
import { ScaledClock } from '../../lib/adapters/runtime/clock.js';
import { CryptoIds } from '../../lib/adapters/runtime/ids.js';
import { silentLogger } from '../../lib/adapters/runtime/logger.js';
import { SqliteStore } from '../../lib/adapters/sqlite/store.sqlite.js';
import { fileTemplateSource } from '../../lib/adapters/templates/templates.fs.js';
import { FileMessageStore } from '../../lib/adapters/messages/messages.fs.js';

/** A hosting network whose desk answers from its own domain or a hosted ticket system, then the national CERT. */
export const HOSTER_DIRECTORY = `networks:
  - cidr: 192.0.2.0/24
    name: Hoster Example Ltd
    abuse: abuse@hoster.example
    country: KE
    answerDomains: [desk.example]
certs:
  - country: KE
    name: KE national CERT (example)
    abuse: incident@cert-ke.example
`;

/** Starts and completions are recorded, not run: these tests drive the commands by hand. */
export class RecordedWorkflows implements Workflows {
  readonly started: string[] = [];
  readonly completed: string[] = [];
  async start(_workflow: string, name: string): Promise<void> {
    this.started.push(name);
  }
  async succeed(token: string): Promise<void> {
    this.completed.push(token);
  }
  async describe(_workflow: string, name: string): Promise<ExecutionStatus> {
    return this.started.includes(name) ? 'running' : 'absent';
  }
}

export interface SentNotice {
  readonly deps: Deps;
  readonly store: SqliteStore;
  readonly workflows: RecordedWorkflows;
  readonly notice: Notice;
  readonly outbound: Outbound;
  /** the notice's Reply-To: the reply mailbox with the notice's token */
  readonly replyTo: string;
  readonly subject: string;
  /** where the capture server keeps what it received */
  readonly outboxDir: string;
  close(): Promise<void>;
}

/**
 * One notice for 192.0.2.10 sent to abuse@hoster.example through a real SMTP capture server, in a fresh SQLite
 * store, as the notice workflow leaves it waiting for an answer.
 */
export async function sentNotice(options: { mailAuth?: MailAuthenticator; directory?: string; content?: string; clock?: ScaledClock } = {}): Promise<SentNotice> {
  const dir = mkdtempSync(join(tmpdir(), 'takedown-sent-'));
  writeFileSync(join(dir, 'directory.yaml'), options.directory ?? HOSTER_DIRECTORY);
  const capture = await startCaptureServer({ dir: join(dir, 'outbox') });
  const mailer = new SmtpMailer({ url: capture.url });
  const store = new SqliteStore(join(dir, 'db.sqlite'));
  const workflows = new RecordedWorkflows();
  const deps: Deps = {
    store,
    workflows,
    mailer,
    parties: new DirectoryResolver(await loadDirectory(join(dir, 'directory.yaml'))),
    clock: options.clock ?? new ScaledClock(),
    ids: new CryptoIds(),
    log: silentLogger,
    templates: fileTemplateSource(),
    messages: new FileMessageStore(join(dir, 'messages')),
    settings: { replyMailbox: 'takedown@reply.example', fromAddress: 'takedown@reply.example', senderName: 'Test', pageSize: 100 },
    ...(options.mailAuth ? { mailAuth: options.mailAuth } : {}),
  };
  const { campaign } = await submitCampaign(deps, { name: 'Op', submitter: 't', content: options.content ?? '192.0.2.10\n', requireApproval: true });
  await routeCampaign(deps, campaign.id);
  await buildNotices(deps, campaign.id);
  await approveCampaign(deps, campaign.id, 't');
  const planned = (await store.listNotices({ campaignId: campaign.id })).items.find((n) => n.step === 0)!;
  await sendNotice(deps, planned.id);
  const notice = (await store.getNotice(planned.id))!;
  const outbound = (await store.listOutbound(notice.id))[0]!;
  // the message as the recipient got it: the copy we keep has its tokens masked
  const delivered = readdirSync(join(dir, 'outbox')).map((f) => readFileSync(join(dir, 'outbox', f), 'utf8')).find((m) => m.includes(notice.tag))!;
  const head = delivered.slice(0, delivered.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  const header = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
  return {
    deps,
    store,
    workflows,
    notice,
    outbound,
    replyTo: header('Reply-To'),
    subject: header('Subject'),
    outboxDir: join(dir, 'outbox'),
    async close() {
      await mailer.close();
      await capture.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
