import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAll } from '../../lib/core/paging.js';
import type { Host } from '../../lib/local/host.js';
import { runCli } from '../e2e/support.js';
import { api, submit, testHost, waitFor } from '../workflows/support.js';

/*
 * Numbers a reader can check against each other: an escalation makes a second case of the same indicator, so
 * "2 indicators" beside "3 cases" must say why, and the CLI, the API and the dashboard must say the same.
 */

let host: Host & { dispose(): Promise<void> };
let campaignId: string;

beforeAll(async () => {
  host = await testHost(1);
  campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server', '192.0.2.11,ip,KE,C2 fallback']);
  const notice = await waitFor('the notice', async () => {
    const [n] = (await host.store.listNotices({ campaignId })).items;
    return n?.state === 'sent' && n.taskToken !== undefined && n;
  });
  const [first] = await listAll((p) => host.store.listCases({ noticeId: notice.id }, p));
  expect((await api(host, 'POST', `/cases/${first!.id}/escalate`, { reason: 'no answer' })).status).toBe(200);
  await waitFor('the escalation notice to go out', async () => (await listAll((p) => host.store.listNotices({ campaignId }, p))).every((n) => n.sentAt !== undefined));
});
afterAll(async () => host?.dispose());

const LINE = '2 indicators → 3 cases (1 escalation) → 2 notices';

describe('a campaign with an escalation', () => {
  it('is explained in one line, the same from the API, the CLI and the dashboard', async () => {
    const res = await api<{ counts: { line: string; indicators: number; cases: number; escalations: number; notices: number } }>(host, 'GET', `/campaigns/${campaignId}`);
    expect(res.body.counts).toMatchObject({ line: LINE, indicators: 2, cases: 3, escalations: 1, notices: 2 });

    const cli = await runCli(['status', campaignId, '--data-dir', host.files.dataDir]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(new RegExp(`counts:\\s+${LINE.replace(/[()]/g, '\\$&')}`));
    // and what the campaign itself went through, told
    expect(cli.stdout).toContain('the campaign itself:');
    expect(cli.stdout).toMatch(/ {2}\S+ {2}Routing plan built: \d+ case\(s\) in \d+ notice\(s\), 0 indicator\(s\) unroutable\n/);
    expect(cli.stdout).toMatch(/ {2}\S+ {2}Sending started: \d+ notice\(s\)/);
    const list = await runCli(['status', '--data-dir', host.files.dataDir]);
    expect(list.stdout).toContain(LINE);

    const page = await (await fetch(`${host.httpUrl}/ui/campaigns/${campaignId}`, { headers: { authorization: `Bearer ${(await import('../../lib/local/keys.js')).readLocalKey(host.files.dataDir)}` } })).text();
    expect(page).toContain(`<p class="counts" data-counts="${LINE}">${LINE}</p>`);
    // the campaign's own history, a line an event
    expect(page).toMatch(/<ol class="story campaign-history"><li class="tone-info" data-tone="info" data-type="campaign.submitted"><time[^>]*>[^<]*<\/time>Campaign submitted by [^<]+<\/li>/);
    expect(page).toContain('data-type="campaign.running"');
    // the progress table counts indicators: the escalated one once
    expect(page).toMatch(/<td>All indicators<\/td><td class="num">2<\/td><td class="num">2<\/td>/);
  });
});
