import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startHost, type Host } from '../../lib/local/host.js';
import { listAll } from '../../lib/core/paging.js';
import { UNSENT_KIND } from '../../lib/core/notices/index.js';
import type { Notice } from '../../lib/core/model.js';
import { killAllHosts, makeDataDir, removeDataDirs, runCli, sleep, startServe } from './support.js';

/**
 * A command run while no host serves the data directory records its change and sends nothing; a command and a
 * starting host hand the data directory over to each other instead of failing; a stop is not a failure.
 */

const DAY = 86_400;
let host: Host | undefined;

afterEach(async () => {
  await host?.close();
  host = undefined;
  await killAllHosts();
});
afterAll(() => removeDataDirs());

const outboxCount = (dataDir: string) => readdirSync(join(dataDir, 'outbox')).filter((f) => f.endsWith('.eml')).length;

async function sentCampaign(dataDir: string, timeScale: number): Promise<{ host: Host; notice: Notice }> {
  const h = await startHost({ dataDir, timeScale, httpPort: 0, smtpPort: 0, logLevel: 'silent', probes: 'off', rdap: 'off', mailAuth: 'off' }, { listen: true });
  const { submitCampaign } = await import('../../lib/core/campaign/index.js');
  const { campaign } = await submitCampaign(h.deps, { name: 'Op', submitter: 'tester', content: 'indicator,type,country\n192.0.2.10,ip,KE\n', requireApproval: false });
  for (;;) {
    const [n] = await listAll((p) => h.store.listNotices({ campaignId: campaign.id }, p));
    if (n?.state === 'sent' && n.taskToken) return { host: h, notice: n };
    await sleep(25);
  }
}

describe('a command with no host running', () => {
  it('records an answer and sends nothing, even with reminders due, and leaves the clock as the host kept it', async () => {
    const dataDir = makeDataDir();
    // a day passes in 0.1 s: once the host is gone, the notice's deadline passes while nobody runs
    const started = await sentCampaign(dataDir, 10 * DAY);
    const notice = started.notice;
    await started.host.close();
    await sleep(600);
    const clock = readFileSync(join(dataDir, 'clock.json'), 'utf8');
    const before = outboxCount(dataDir);

    const ack = await runCli(['ack', notice.id, '--data-dir', dataDir]);

    expect(ack.code, ack.stderr).toBe(0);
    expect(ack.stdout).toMatch(/recorded; no host is serving this data directory, so nothing was sent/);
    // no reminder, no escalation went out: the old behaviour resumed every notice and delivered what was due
    expect(outboxCount(dataDir)).toBe(before);
    expect(readFileSync(join(dataDir, 'clock.json'), 'utf8')).toBe(clock);
    host = await startHost({ dataDir, logLevel: 'silent', probes: 'off', rdap: 'off', mailAuth: 'off' }, { resume: false });
    expect((await host.store.listAnswers(notice.id)).map((a) => a.intent)).toEqual(['acknowledged']);
  }, 45_000);

  it('keeps a follow-up for the next serve, which sends it once', async () => {
    const dataDir = makeDataDir();
    const started = await sentCampaign(dataDir, 1);
    const notice = started.notice;
    await started.host.close();
    const before = outboxCount(dataDir);

    const followup = await runCli(['followup', notice.id, '--message', 'The full URL is in the attachment.', '--data-dir', dataDir]);

    expect(followup.code, followup.stderr).toBe(0);
    expect(outboxCount(dataDir)).toBe(before);
    host = await startHost({ dataDir, logLevel: 'silent', probes: 'off', rdap: 'off', mailAuth: 'off' }, { resume: false });
    expect((await host.store.listRecords(UNSENT_KIND)).items.map((r) => r.key)).toEqual([`${notice.id}.followup.1`]);
    await host.close();
    // the next host sends it, and only once
    host = await startHost({ dataDir, httpPort: 0, smtpPort: 0, logLevel: 'silent', probes: 'off', rdap: 'off', mailAuth: 'off' }, { listen: true });
    expect(outboxCount(dataDir)).toBe(before + 1);
    expect((await host.store.listRecords(UNSENT_KIND)).items).toEqual([]);
    await host.close();
    host = await startHost({ dataDir, httpPort: 0, smtpPort: 0, logLevel: 'silent', probes: 'off', rdap: 'off', mailAuth: 'off' }, { listen: true });
    expect(outboxCount(dataDir)).toBe(before + 1);
  }, 45_000);
});

describe('handing the data directory over', () => {
  it('lets a command that arrives while serve starts go through its API, and serve wait for a command holding the directory', async () => {
    const dataDir = makeDataDir();
    const started = await sentCampaign(dataDir, 1);
    const notice = started.notice;
    await started.host.close();

    // a command holds the directory (a passive host) while serve starts: serve waits for it, then starts
    const holder = await startHost({ dataDir, logLevel: 'silent', probes: 'off', rdap: 'off', mailAuth: 'off' }, { passive: true });
    const serving = startServe({ dataDir, timeScale: 1, startTimeoutMs: 30_000 });
    await sleep(1500);
    await holder.close();
    const served = await serving;

    // a command while the host serves goes through the host, never a host of its own
    const ack = await runCli(['ack', notice.id, '--note', 'looking into it', '--data-dir', dataDir]);
    expect(ack.code, ack.stderr).toBe(0);
    expect(ack.stdout).toMatch(/^recorded: n[0-9a-z]{16} acknowledged$/m);
    expect(served.stderr()).not.toMatch(/another takedown/);
  }, 60_000);
});

describe('stopping a busy host', () => {
  it('records the executions it cut short as interrupted, never as failed', async () => {
    const dataDir = makeDataDir();
    const started = await sentCampaign(dataDir, 1);
    await started.host.close();
    host = await startHost({ dataDir, logLevel: 'silent', probes: 'off', rdap: 'off', mailAuth: 'off' }, { resume: false });
    const histories = (await host.store.listEvents({ noticeId: started.notice.id })).filter((e) => e.type === 'workflow.history');
    expect(histories.map((e) => e.data['status'])).toEqual(['interrupted']);
  }, 45_000);
});
