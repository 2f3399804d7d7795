import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { approveCampaign } from '../../lib/core/campaign/approval.js';
import { buildNotices } from '../../lib/core/campaign/plan.js';
import { routeCampaign } from '../../lib/core/campaign/route.js';
import { submitCampaign } from '../../lib/core/campaign/submit.js';
import { sendNotice } from '../../lib/core/notices/sending/send.js';
import { receiveMail } from '../../lib/core/answers/inbound.js';
import { recordAnswer } from '../../lib/core/answers/record.js';
import { control, sweep } from '../../lib/core/campaign/index.js';
import { parseMail } from '../../lib/adapters/mail/parse.js';
import { MailTransientError } from '../../lib/core/errors.js';
import type { Deps, Mailer, MessageStore, Store, Workflows } from '../../lib/core/ports.js';
import type { Outbound } from '../../lib/core/messages.js';
import { holdsNoToken } from '../../lib/core/notices/sending/masking.js';
import { SqliteStore } from '../../lib/adapters/sqlite/store.sqlite.js';
import { SmtpMailer } from '../../lib/adapters/mail/mailer.smtp.js';
import { startCaptureServer } from '../../lib/adapters/mail/capture-server.js';
import { DirectoryResolver, loadDirectory } from '../../lib/adapters/directory/directory.js';
import { ScaledClock } from '../../lib/adapters/runtime/clock.js';
import { CryptoIds } from '../../lib/adapters/runtime/ids.js';
import { silentLogger } from '../../lib/adapters/runtime/logger.js';
import { fileTemplateSource } from '../../lib/adapters/templates/templates.fs.js';
import { FileMessageStore } from '../../lib/adapters/messages/messages.fs.js';

const DIRECTORY = new URL('../../examples/directory.yaml', import.meta.url).pathname;

/** Starts are recorded, not run: these tests drive the tasks by hand, as a retrying engine would. */
class RecordedWorkflows implements Workflows {
  readonly started: string[] = [];
  async start(_w: string, name: string) {
    this.started.push(name);
  }
  async succeed() {}
  async describe(_w: string, name: string): Promise<'running' | 'absent'> {
    return this.started.includes(name) ? 'running' : 'absent';
  }
}

let dir: string;
let capture: Awaited<ReturnType<typeof startCaptureServer>>;
let smtp: SmtpMailer;
let store: SqliteStore;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'takedown-send-'));
  capture = await startCaptureServer({ dir: join(dir, 'outbox') });
  smtp = new SmtpMailer({ url: capture.url });
  store = new SqliteStore(join(dir, 'db.sqlite'));
});
afterEach(async () => {
  await smtp.close();
  await capture.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function deps(overrides: { mailer?: Mailer; store?: Store } = {}): Promise<Deps> {
  return {
    store: overrides.store ?? store,
    workflows: new RecordedWorkflows(),
    mailer: overrides.mailer ?? smtp,
    parties: new DirectoryResolver(await loadDirectory(DIRECTORY)),
    clock: new ScaledClock(),
    ids: new CryptoIds(),
    log: silentLogger,
    templates: fileTemplateSource(),
    messages: new FileMessageStore(join(dir, 'messages')),
    settings: { replyMailbox: 'takedown@reply.example', fromAddress: 'takedown@reply.example', senderName: 'Test', pageSize: 100 },
  };
}

/** A campaign routed and planned to one notice, as the campaign workflow leaves it. */
async function plannedNotice(d: Deps, content = '198.51.100.5\n198.51.100.6\n'): Promise<string> {
  const { campaign } = await submitCampaign(d, { name: 'Op', submitter: 't', content, requireApproval: true });
  await routeCampaign(d, campaign.id);
  await buildNotices(d, campaign.id);
  await approveCampaign(d, campaign.id, 't');
  return (await d.store.listNotices({ campaignId: campaign.id })).items[0]!.id;
}

/** A mailer that hands the message over and then fails as a cut connection does: delivered, as far as anyone knows maybe. */
const dropping = (): Mailer => ({
  compose: (draft) => smtp.compose(draft),
  async sendRaw(envelope, raw) {
    await smtp.sendRaw(envelope, raw);
    throw new MailTransientError('sending through the relay failed (ECONNECTION)', { maybeDelivered: true });
  },
});

/** Hands a notice's message over twice, the outcome unknown both times (the resend makes the notice uncertain). */
async function handedOverTwice(noticeId: string): Promise<void> {
  await expect(sendNotice(await deps({ mailer: dropping() }), noticeId)).rejects.toBeInstanceOf(MailTransientError);
  await expect(sendNotice(await deps({ mailer: dropping() }), noticeId)).rejects.toBeInstanceOf(MailTransientError);
}

const outboxFiles = () => readdirSync(join(dir, 'outbox')).filter((f) => f.endsWith('.eml'));

/** The party's reply to the first message in the outbox, sent to its reply address (which carries its token). */
async function replyToDelivered(d: Deps, noticeId: string, id: string, text: string): Promise<void> {
  const delivered = readFileSync(join(dir, 'outbox', outboxFiles()[0]!), 'utf8');
  const replyTo = /^Reply-To:\s*(?:[^<\r\n]*<)?([^>\s]+)>?\s*$/im.exec(delivered)![1]!;
  const reply = ['From: abuse@demo-dc.example', `To: ${replyTo}`, `Subject: Re: [TKD-${noticeId}]`, `Message-ID: <${id}@demo-dc.example>`, '', text, ''].join('\r\n');
  await receiveMail(d, await parseMail(Buffer.from(reply), [replyTo]));
}

/** A message left unresent keeps only its masked copy, the hash of the bytes handed over beside it. */
async function expectOnlyMaskedCopy(d: Deps, handedOver: Outbound): Promise<void> {
  const after = (await store.listOutbound(handedOver.noticeId)).find((o) => o.id === handedOver.id)!;
  const was = handedOver.parts![0]!;
  const part = after.parts![0]!;
  expect(part).toMatchObject({ state: 'sending', sha256: was.sha256 });
  expect(part.rawKey).toBe(was.rawKey.replace(/\.eml$/, '.masked.eml'));
  const copy = (await d.messages.get(part.rawKey))!;
  expect(part.maskedSha256).toBe(d.ids.hash(copy));
  expect(holdsNoToken(copy)).toBe(true);
  expect(await d.messages.get(was.rawKey)).toBeUndefined();
}

describe('sendNotice', () => {
  it('sends nothing twice when the step is retried after the message went out', async () => {
    const d = await deps();
    const noticeId = await plannedNotice(d);
    // the first attempt dies after the hand-over and the "sent" record, before the notice is updated
    let failOnce = true;
    const failing: Store = Object.create(store, {
      saveNotice: {
        value: async (n: Parameters<Store['saveNotice']>[0]) => {
          if (failOnce && n.state === 'sent') {
            failOnce = false;
            throw new Error('lost the connection to the store');
          }
          return store.saveNotice(n);
        },
      },
    });
    await expect(sendNotice(await deps({ store: failing }), noticeId)).rejects.toThrow('lost the connection');
    const step = await sendNotice(d, noticeId);

    expect(step.next).toBe('wait');
    expect(outboxFiles()).toHaveLength(1);
    expect((await store.getNotice(noticeId))?.state).toBe('sent');
    expect((await store.listEvents({ noticeId })).map((e) => e.type)).not.toContain('message.uncertain');
  });

  it('marks its cases notified before it records the notice sent, so a retry after a crash between the two finishes both', async () => {
    const d = await deps();
    const noticeId = await plannedNotice(d);
    // the attempt dies marking the cases: a notice already recorded sent would leave them open for good (its retry
    // finds it sent and stops), and an escalation would take open cases of a sent notice for cases it never carried
    let failOnce = true;
    const failing: Store = Object.create(store, {
      saveCases: {
        value: async (cases: Parameters<Store['saveCases']>[0]) => {
          if (failOnce) {
            failOnce = false;
            throw new Error('lost the connection to the store');
          }
          return store.saveCases(cases);
        },
      },
    });
    await expect(sendNotice(await deps({ store: failing }), noticeId)).rejects.toThrow('lost the connection');
    await sendNotice(d, noticeId);

    expect(outboxFiles()).toHaveLength(1);
    expect((await store.getNotice(noticeId))?.state).toBe('sent');
    expect((await store.listCases({ noticeId })).items.map((c) => c.state)).toEqual(['notified', 'notified']);
  });

  it('sends nothing when called again for a notice already sent', async () => {
    const d = await deps();
    const noticeId = await plannedNotice(d);
    await sendNotice(d, noticeId);
    await sendNotice(d, noticeId);
    expect(outboxFiles()).toHaveLength(1);
  });

  it('marks an unknown outcome uncertain and resends the very same bytes once', async () => {
    const d = await deps();
    const noticeId = await plannedNotice(d);
    // delivered, then the process "dies" before it learns the outcome
    const dying: Mailer = {
      compose: (draft) => smtp.compose(draft),
      async sendRaw(envelope, raw) {
        await smtp.sendRaw(envelope, raw);
        throw new Error('process killed');
      },
    };
    await expect(sendNotice(await deps({ mailer: dying }), noticeId)).rejects.toThrow('process killed');
    expect((await store.listOutbound(noticeId))[0]?.state).toBe('sending');

    await sendNotice(d, noticeId);
    const files = outboxFiles().map((f) => readFileSync(join(dir, 'outbox', f), 'utf8'));
    expect(files).toHaveLength(2);
    expect(files[1]).toBe(files[0]);
    const events = (await store.listEvents({ noticeId })).map((e) => e.type);
    expect(events.filter((t) => t === 'message.uncertain')).toHaveLength(1);
    expect((await store.getNotice(noticeId))?.state).toBe('sent');
  });

  it('treats a transport failure that may have delivered as uncertain on the retry, not as a first send', async () => {
    const d = await deps();
    const noticeId = await plannedNotice(d);
    await expect(sendNotice(await deps({ mailer: dropping() }), noticeId)).rejects.toBeInstanceOf(MailTransientError);
    expect((await store.listOutbound(noticeId))[0]?.state).toBe('sending');

    await sendNotice(d, noticeId);
    expect((await store.listEvents({ noticeId })).filter((e) => e.type === 'message.uncertain')).toHaveLength(1);
    expect(outboxFiles()).toHaveLength(2);
  });

  it('takes a reply carrying the message\'s token as proof it was delivered: recorded sent, not resent', async () => {
    const d = await deps();
    const noticeId = await plannedNotice(d);
    await expect(sendNotice(await deps({ mailer: dropping() }), noticeId)).rejects.toBeInstanceOf(MailTransientError);
    // the recipient has it, and answers before the resend: its reply proves the message arrived
    await replyToDelivered(d, noticeId, 'r1', 'We have received your report and are investigating it.');

    expect((await store.listOutbound(noticeId))[0]?.state).toBe('sent');
    const events = await store.listEvents({ noticeId });
    expect(events.find((e) => e.type === 'message.sent')?.data).toMatchObject({ proof: 'a reply carried its reply token' });
    await sendNotice(d, noticeId);
    expect(outboxFiles()).toHaveLength(1);
    expect((await store.listEvents({ noticeId })).map((e) => e.type)).not.toContain('message.uncertain');
    expect((await store.getNotice(noticeId))?.state).toBe('sent');
  });

  it('does not resend a message of unknown outcome once an answer closed its notice, and records it left unresent', async () => {
    const d = await deps();
    const noticeId = await plannedNotice(d);
    await handedOverTwice(noticeId);
    expect((await store.getNotice(noticeId))?.state).toBe('uncertain');
    const [handedOver] = await store.listOutbound(noticeId);
    // the party tells the coordinator by phone, who records it: it proves nothing about the message
    await recordAnswer(d, noticeId, { intent: 'actioned', source: 'api' }, 'coordinator');
    expect((await store.getNotice(noticeId))?.state).toBe('closed');

    // the notice's own send step, retried (a restart): nothing goes out again, and the message says why
    await sendNotice(d, noticeId, 1);
    await sendNotice(d, noticeId, 1);
    expect(outboxFiles()).toHaveLength(2);
    const [out] = await store.listOutbound(noticeId);
    expect(out).toMatchObject({ state: 'sending', notResent: { noticeState: 'closed' } });
    const events = await store.listEvents({ noticeId });
    expect(events.filter((e) => e.type === 'message.not-resent').map((e) => e.data)).toStrictEqual([
      { outbound: out!.id, kind: 'notice', to: out!.to, parts: [1], attempts: 2, noticeState: 'closed' },
    ]);

    // nothing will send it again: no working token of it stays at rest, and the hash of what went out stays
    await expectOnlyMaskedCopy(d, handedOver!);

    // a reply with its token, later, proves it arrived after all
    await replyToDelivered(d, noticeId, 'r2', 'Done, the server is gone.');
    const [proven] = await store.listOutbound(noticeId);
    expect(proven?.state).toBe('sent');
    expect(proven).not.toHaveProperty('notResent');
    const masked = (await store.listOutbound(noticeId))[0]!.parts![0]!;
    expect(masked).toMatchObject({ sha256: handedOver!.parts![0]!.sha256, rawKey: out!.parts![0]!.rawKey });
    expect(holdsNoToken((await d.messages.get(masked.rawKey))!)).toBe(true);
  });

  it('records a message of unknown outcome not resent when an answer paused its notice to resume as sent', async () => {
    const d = await deps();
    const noticeId = await plannedNotice(d);
    await handedOverTwice(noticeId);
    // the party asks a question through the coordinator: the clock stops until it is answered, then runs as sent
    await recordAnswer(d, noticeId, { intent: 'needs-info', source: 'api', note: 'which URL?' }, 'coordinator');
    expect((await store.getNotice(noticeId))?.paused?.from).toBe('sent');

    const [handedOver] = await store.listOutbound(noticeId);
    await sendNotice(d, noticeId, 1);
    expect(outboxFiles()).toHaveLength(2);
    expect((await store.listOutbound(noticeId))[0]).toMatchObject({ state: 'sending', notResent: { noticeState: 'paused' } });
    await expectOnlyMaskedCopy(d, handedOver!);
  });

  it('masks the copy of a message marked unresent by a step that died before it masked it', async () => {
    const d = await deps();
    const noticeId = await plannedNotice(d);
    await handedOverTwice(noticeId);
    await recordAnswer(d, noticeId, { intent: 'actioned', source: 'api' }, 'coordinator');
    expect((await store.getNotice(noticeId))?.state).toBe('closed');
    // the mark is saved, and the step dies as it puts the masked copy
    const dying: MessageStore = Object.create(d.messages, { put: { value: async () => Promise.reject(new Error('process killed')) } });
    await expect(sendNotice({ ...d, messages: dying }, noticeId, 1)).rejects.toThrow('process killed');
    const [marked] = await store.listOutbound(noticeId);
    // marked, its exact bytes still there
    expect(marked).toMatchObject({ state: 'sending', notResent: { noticeState: 'closed' } });
    expect(marked!.parts![0]!.maskedSha256).toBeUndefined();
    expect(holdsNoToken((await d.messages.get(marked!.parts![0]!.rawKey))!)).toBe(false);
    // its retry finds it marked, and masks it; the trail says it once
    await sendNotice(d, noticeId, 1);
    await expectOnlyMaskedCopy(d, marked!);
    expect((await store.listEvents({ noticeId })).filter((e) => e.type === 'message.not-resent')).toHaveLength(1);
  });

  it('leaves to the sweep the copy a kill left unmasked, since a notice that ended runs no step of its own again', async () => {
    const d = await deps();
    const noticeId = await plannedNotice(d);
    await handedOverTwice(noticeId);
    const [handedOver] = await store.listOutbound(noticeId);
    await recordAnswer(d, noticeId, { intent: 'actioned', source: 'api' }, 'coordinator');
    // the last run of its step: the host is killed as the message is marked unresent, then as its copy is masked
    const killedAtMark: Store = Object.create(store, { saveOutbound: { value: async (o: Outbound) => (o.notResent ? Promise.reject(new Error('process killed')) : store.saveOutbound(o)) } });
    await expect(sendNotice({ ...d, store: killedAtMark }, noticeId, 1)).rejects.toThrow('process killed');
    expect((await store.listOutbound(noticeId))[0]).not.toHaveProperty('notResent');
    // a sweep right after may find the step masking it still: it waits
    expect((await sweep(d)).copiesMasked).toBeUndefined();
    const later = { ...d, clock: new ScaledClock({ anchorDomain: Date.now() + 11 * 60_000 }) };
    expect((await sweep(later)).copiesMasked).toBe(1);
    expect((await store.listOutbound(noticeId))[0]).toMatchObject({ notResent: { noticeState: 'closed' } });
    await expectOnlyMaskedCopy(d, handedOver!);

    // the same, killed once marked: the mark is kept, the copy masked
    const other = await plannedNotice(d, '198.51.100.7\n');
    await handedOverTwice(other);
    const [second] = await store.listOutbound(other);
    await recordAnswer(d, other, { intent: 'actioned', source: 'api' }, 'coordinator');
    const killedAtMask: MessageStore = Object.create(d.messages, { put: { value: async () => Promise.reject(new Error('process killed')) } });
    await expect(sendNotice({ ...d, messages: killedAtMask }, other, 1)).rejects.toThrow('process killed');
    expect(holdsNoToken((await d.messages.get(second!.parts![0]!.rawKey))!)).toBe(false);
    expect((await sweep(later)).copiesMasked).toBe(1);
    await expectOnlyMaskedCopy(d, second!);
    // nothing is left for the next pass. The trail says it twice where the kill came between the event and the
    // mark (an event is repeated rather than lost), once where the mark was kept
    expect((await store.listRecords('unmasked')).items).toEqual([]);
    expect((await sweep(later)).copiesMasked).toBeUndefined();
    const notResent = async (id: string) => (await store.listEvents({ noticeId: id })).filter((e) => e.type === 'message.not-resent').length;
    expect([await notResent(noticeId), await notResent(other)]).toEqual([2, 1]);
  });

  it('removes the exact bytes a crash left beside the masked copy of a message left unresent', async () => {
    const d = await deps();
    const noticeId = await plannedNotice(d);
    await handedOverTwice(noticeId);
    const [handedOver] = await store.listOutbound(noticeId);
    await recordAnswer(d, noticeId, { intent: 'actioned', source: 'api' }, 'coordinator');
    // the masked copy is kept and recorded; the step dies as it removes the exact bytes
    const dying: MessageStore = Object.create(d.messages, { delete: { value: async () => Promise.reject(new Error('process killed')) } });
    await expect(sendNotice({ ...d, messages: dying }, noticeId, 1)).rejects.toThrow('process killed');
    expect((await store.listOutbound(noticeId))[0]!.parts![0]!.maskedSha256).toBeDefined();
    expect(await d.messages.get(handedOver!.parts![0]!.rawKey)).toBeDefined();
    // its retry removes them
    await sendNotice(d, noticeId, 1);
    await expectOnlyMaskedCopy(d, handedOver!);
  });

  it('masks the copy of a message composed and never handed over once its notice ended', async () => {
    const d = await deps();
    const noticeId = await plannedNotice(d);
    const down: Mailer = { compose: (draft) => smtp.compose(draft), sendRaw: async () => Promise.reject(new MailTransientError('the relay refused the connection (ECONNREFUSED)')) };
    await expect(sendNotice(await deps({ mailer: down }), noticeId)).rejects.toBeInstanceOf(MailTransientError);
    const [composed] = await store.listOutbound(noticeId);
    const exactKey = composed!.parts![0]!.rawKey;
    expect(composed!.state).toBe('composed');
    expect(holdsNoToken((await d.messages.get(exactKey))!)).toBe(false);
    // the coordinator cancels the notice; its send step, tried again, finds it ended
    await control(d, noticeId, 'cancel', 'coordinator', 'reached them by phone');
    expect((await store.getNotice(noticeId))?.state).toBe('cancelled');
    await sendNotice(d, noticeId, 1);
    expect(outboxFiles()).toHaveLength(0);
    const part = (await store.listOutbound(noticeId))[0]!.parts![0]!;
    expect(part).toMatchObject({ state: 'composed', rawKey: exactKey.replace(/\.eml$/, '.masked.eml'), sha256: composed!.parts![0]!.sha256 });
    expect(holdsNoToken((await d.messages.get(part.rawKey))!)).toBe(true);
    expect(await d.messages.get(exactKey)).toBeUndefined();
  });

  it('takes a proof of delivery that races the masking of a message left unresent: recorded sent all the same', async () => {
    const d = await deps();
    const noticeId = await plannedNotice(d);
    await handedOverTwice(noticeId);
    await recordAnswer(d, noticeId, { intent: 'actioned', source: 'api' }, 'coordinator');
    // the proof has read the record (the exact bytes' key) when the send step masks the copy and removes them
    let raced = false;
    const racing: MessageStore = Object.create(d.messages, {
      get: {
        value: async (key: string) => {
          if (!raced && !key.endsWith('.masked.eml')) {
            raced = true;
            await sendNotice(d, noticeId, 1);
          }
          return d.messages.get(key);
        },
      },
    });
    await replyToDelivered({ ...d, messages: racing }, noticeId, 'r3', 'Done.');
    expect(raced).toBe(true);
    const [out] = await store.listOutbound(noticeId);
    expect(out).toMatchObject({ state: 'sent' });
    expect(holdsNoToken((await d.messages.get(out!.parts![0]!.rawKey))!)).toBe(true);
  });

  it('takes a proof of delivery that races the mark of a notice that ended: recorded sent all the same', async () => {
    const d = await deps();
    const noticeId = await plannedNotice(d);
    await expect(sendNotice(await deps({ mailer: dropping() }), noticeId)).rejects.toBeInstanceOf(MailTransientError);
    // the mark is saved between the proof's read of the record and its save
    let raced = false;
    const racing = new Proxy(store, {
      get(target, key, receiver) {
        if (key !== 'saveOutbound') return Reflect.get(target, key, receiver);
        return async (o: Outbound) => {
          if (!raced && o.state === 'sent') {
            raced = true;
            const cur = (await target.getOutbound(o.id))!;
            await target.saveOutbound({ ...cur, notResent: { at: new Date().toISOString(), noticeState: 'closed' }, version: cur.version + 1 });
          }
          return target.saveOutbound(o);
        };
      },
    });
    await replyToDelivered(await deps({ store: racing }), noticeId, 'r3', 'We have received your report.');

    expect(raced).toBe(true);
    const [out] = await store.listOutbound(noticeId);
    expect(out?.state).toBe('sent');
    expect(out).not.toHaveProperty('notResent');
  });

  it('puts every indicator of the notice, its case id and the reply address into the message', async () => {
    const d = await deps();
    const noticeId = await plannedNotice(d);
    await sendNotice(d, noticeId);
    // headers unfolded (RFC 5322 folds long ones), body soft line breaks joined (quoted-printable)
    const raw = readFileSync(join(dir, 'outbox', outboxFiles()[0]!), 'utf8').replace(/\r\n[ \t]+/g, ' ').replace(/=\r\n/g, '');
    const cases = (await store.listCases({ noticeId })).items;
    expect(cases).toHaveLength(2);
    for (const c of cases) {
      expect(raw).toContain(c.indicator.value);
      expect(raw).toContain(c.id);
    }
    expect(raw).toMatch(new RegExp(`Reply-To: takedown\\+${noticeId}\\.[0-9a-z]{26}@reply\\.example`));
    expect(raw).toContain(`[TKD-${noticeId}]`);
    expect(raw).toContain('TLP:AMBER');
  });
});
