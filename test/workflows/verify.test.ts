import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Case, Notice } from '../../lib/core/model.js';
import { listAll } from '../../lib/core/paging.js';
import { submitCampaign } from '../../lib/core/campaign/submit.js';
import { recordAnswer } from '../../lib/core/answers/record.js';
import { sweep } from '../../lib/core/campaign/index.js';
import { VERIFYING, parseVerifyingMark } from '../../lib/core/verify/index.js';
import { startHost } from '../../lib/local/host.js';
import { createProber } from '../../lib/adapters/probe/prober.js';
import type { Host } from '../../lib/local/host.js';
import { startDnsStub, type DnsStub } from '../support/dns-stub.js';
import { api, outbox, submit, testHost, waitFor } from './support.js';

/*
 * Verification on the shipped verify workflow, with the real prober: the indicators' names resolve through a
 * DNS stub to a web server on loopback that the test switches between serving the phishing page and 404.
 * A minute of domain time passes in a second, and the revival checks come 60 s and 600 s after a takedown.
 */

const SCALE = 60;
let dns: DnsStub;
let web: Server;
let port: number;
const serving = new Map<string, boolean>();
let host: (Host & { dispose(): Promise<void> }) | undefined;

beforeAll(async () => {
  dns = await startDnsStub({ 'phish-a.example': { A: ['127.0.0.1'] }, 'phish-b.example': { A: ['127.0.0.1'] } });
  web = createServer((req, res) => {
    const name = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (serving.get(name)) res.writeHead(200, { 'content-type': 'text/html' }).end('<form>Log in to your bank</form>');
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((ok) => web.listen(0, '127.0.0.1', ok));
  port = (web.address() as AddressInfo).port;
});

afterAll(async () => {
  await dns.close();
  await new Promise<void>((ok) => web.close(() => ok()));
});

afterEach(async () => {
  await host?.dispose();
  host = undefined;
});

async function startWithProbes(): Promise<Host & { dispose(): Promise<void> }> {
  // the fixtures are on loopback, where probes go only when told
  const prober = createProber({ dnsServers: [dns.server], timeoutMs: 2000, retries: 0, perHostIntervalMs: 0, allowAddresses: ['127.0.0.1/32'] });
  return testHost(SCALE, { prober, config: { revivalChecks: [60, 600] } });
}

async function caseOf(h: Host, value: string): Promise<Case> {
  const campaignId = (await h.store.listCampaigns())[0]!.id;
  const all = await listAll((p) => h.store.listCases({ campaignId }, p));
  return all.find((c) => c.indicator.value.includes(value) && c.step === 0)!;
}

describe('the verify workflow on the shipped ASL, probing loopback servers', () => {
  it('verifies a takedown with the probe as evidence, then reopens the case when the page comes back', async () => {
    host = await startWithProbes();
    serving.set('phish-a.example', true);
    const campaignId = await submit(host, [`http://phish-a.example:${port}/login,url,KE,phishing page`]);
    const notice = await waitFor('the notice to wait', async () => {
      const [n] = (await host!.store.listNotices({ campaignId })).items;
      return n?.state === 'sent' && n.taskToken !== undefined && n;
    });

    serving.set('phish-a.example', false);
    await api(host, 'POST', `/notices/${notice.id}/answers`, { intent: 'actioned', note: 'site removed' });
    const down = await waitFor('verified down', async () => {
      const c = await caseOf(host!, 'phish-a');
      return c.state === 'verified-down' && c;
    });
    expect(down.probe).toMatchObject({ method: 'http', verdict: 'down', live: false });
    expect(down.probe!.detail).toMatch(/HTTP 404/);
    const probeEvents = (await host.store.listEvents({ caseId: down.id })).filter((e) => e.type === 'probe.result');
    expect(probeEvents[0]!.data).toMatchObject({ phase: 'verify', verdict: 'down', evidence: expect.objectContaining({ status: 404 }) });

    // it comes back before the first revival check (60 domain seconds later)
    serving.set('phish-a.example', true);
    const reopened = await waitFor('the case to reopen', async () => {
      const c = (await host!.store.getCase(down.id))!;
      return c.state !== 'verified-down' && c.revival === 1 && c;
    });
    expect(reopened.step).toBe(0);
    expect(reopened.noticeId).not.toBe(notice.id);
    const revivalNotice = await waitFor('the revival notice to go out', async () => {
      const n = await host!.store.getNotice(reopened.noticeId!);
      return n?.state === 'sent' && n;
    });
    expect(revivalNotice).toMatchObject({ revivalOf: notice.id, party: { email: notice.party.email } });
    // the notice says what came back, when it had been verified down, and what the probe found
    const revivalMail = outbox(host).find((m) => m.header('Subject')?.includes(`[TKD-${revivalNotice.id}]`))!;
    expect(revivalMail.header('Subject')).toMatch(/Back online: Takedown request/);
    const revivalText = ((await simpleParser(revivalMail.raw)).text ?? '').replace(/\s+/g, ' ');
    expect(revivalText).toContain('is reachable again: HTTP 200');
    expect(revivalText).toContain('we verified it down on');
    expect((await host.store.listEvents({ caseId: down.id })).map((e) => e.type)).toContain('case.revived');
    const verify = host.workflows.list().find((e) => e.name.startsWith(`verify-${notice.id}-`))!;
    await waitFor('the verify execution to end', () => host!.workflows.get(verify.name)?.status === 'succeeded');
    expect(host.workflows.get(verify.name)!.path).toEqual(['Probe', 'NextCheck', 'Watch', 'Probe', 'NextCheck', 'Done']);
    // nothing left to watch on this notice: a restart has nothing to resume for it
    expect(await host.store.getRecord('verifying', notice.id)).toBeUndefined();
    // the engine keeps histories in memory only: each finished execution's is copied into the audit trail
    const archived = await waitFor('the history in the audit trail', async () =>
      (await host!.store.listEvents({ noticeId: notice.id })).find((e) => e.type === 'workflow.history' && e.data['execution'] === verify.name),
    );
    expect(archived.data).toMatchObject({ workflow: 'verify', status: 'succeeded', path: host.workflows.get(verify.name)!.path, transitions: 6 });
    expect((archived.data['events'] as unknown[]).length).toBe(host.workflows.get(verify.name)!.events.length);
  });

  it('keeps watching a verified takedown across a restart of the host', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'takedown-verify-restart-'));
    const start = () =>
      startHost(
        { dataDir, timeScale: SCALE, httpPort: 0, smtpPort: 0, logLevel: 'silent', revivalChecks: [3600, 7200] },
        { listen: false, prober: createProber({ dnsServers: [dns.server], timeoutMs: 2000, retries: 0, perHostIntervalMs: 0, allowAddresses: ['127.0.0.1/32'] }) },
      );
    let h = await start();
    try {
      serving.set('phish-c.example', false);
      dns.set('phish-c.example', { A: ['127.0.0.1'] });
      const { campaign } = await submitCampaign(h.deps, { name: 'restart', submitter: 't', requireApproval: false, tlp: 'GREEN', format: 'csv', content: `indicator,type,country,evidence\nhttp://phish-c.example:${port}/x,url,KE,phish` });
      const notice = await waitFor('the notice to wait', async () => {
        const [n] = (await h.store.listNotices({ campaignId: campaign.id })).items;
        return n?.state === 'sent' && n.taskToken !== undefined && n;
      });
      await recordAnswer(h.deps, notice.id, { intent: 'actioned', source: 'api' });
      await waitFor('verified down', async () => (await caseOf(h, 'phish-c')).state === 'verified-down');

      const mark = parseVerifyingMark((await h.store.getRecord(VERIFYING, notice.id))!.value).execution!;
      await h.close();

      h = await start();
      expect(h.resumed.verifying).toBe(1);
      // under the name its mark gives: the sweep, asking about that name, finds it running and starts nothing beside it
      expect(h.workflows.get(mark)?.status).toBe('running');
      expect(await sweep(h.deps)).toMatchObject({ verifications: 0 });
      expect(h.workflows.list().filter((e) => e.name.startsWith(`verify-${notice.id}`)).map((e) => e.name)).toEqual([mark]);
    } finally {
      await h.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('sends a "still reachable" follow-up in the thread and puts the case back to its party', async () => {
    host = await startWithProbes();
    serving.set('phish-b.example', true);
    const campaignId = await submit(host, [`http://phish-b.example:${port}/login,url,KE,phishing page`]);
    const notice = await waitFor('the notice to wait', async () => {
      const [n] = (await host!.store.listNotices({ campaignId })).items;
      return n?.state === 'sent' && n.taskToken !== undefined && n;
    });
    await api(host, 'POST', `/notices/${notice.id}/answers`, { intent: 'actioned' });

    const back: Notice = await waitFor('the notice to wait again', async () => {
      const n = await host!.store.getNotice(notice.id);
      return n?.state === 'sent' && n.round === 2 && n.taskToken !== undefined && n;
    });
    expect(back.followupsSent).toBe(1);
    const c = await caseOf(host, 'phish-b');
    expect(c).toMatchObject({ state: 'notified', probe: { verdict: 'live', live: true } });
    const [original, followup] = outbox(host);
    expect(followup!.header('Subject')).toMatch(/Re: Still reachable: 1 indicator/);
    expect(followup!.header('In-Reply-To')).toBe(original!.header('Message-ID'));
    const text = (await simpleParser(followup!.raw)).text ?? '';
    expect(text).toContain(`http://phish-b.example:${port}/login`);
    expect(text).toMatch(/HTTP 200/);
  });
});
