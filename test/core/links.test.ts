import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notice } from '../../lib/core/model.js';
import type { Deps } from '../../lib/core/ports.js';
import { ANSWER_LINK_KIND, issueAnswerLinks } from '../../lib/core/notices/links.js';
import { confirmLink, LinkUnusableError, useLink } from '../../lib/core/answers/links.js';
import { listAll } from '../../lib/core/paging.js';
import { submitCampaign } from '../../lib/core/campaign/submit.js';
import { ScaledClock } from '../../lib/adapters/runtime/clock.js';
import type { Host } from '../../lib/local/host.js';
import { testHost, waitFor } from '../workflows/support.js';

/*
 * One-click links against the embedded host: the shipped notice workflow waits on each notice, and a link's
 * answer must reach it through recordAnswer like any other answer.
 */

let host: Host & { dispose(): Promise<void> };

beforeAll(async () => {
  host = await testHost(1);
});
afterAll(async () => host?.dispose());

let nextHost = 10;
/** A notice that was sent and whose workflow waits for its answer (one new indicator per call). */
async function waitingNotice(): Promise<Notice> {
  const content = ['indicator,type,country,evidence', `192.0.2.${nextHost++},ip,KE,C2 server`].join('\n');
  const campaignId = (await submitCampaign(host.deps, { name: 'Links test', submitter: 'tester', content, requireApproval: false })).campaign.id;
  const sent = await waitFor('the notice to be sent', async () => {
    const [n] = (await host.store.listNotices({ campaignId })).items;
    return n?.state === 'sent' && n;
  });
  return waitFor('the workflow to wait for an answer', async () => {
    const n = await host.store.getNotice(sent.id);
    return n?.taskToken !== undefined && n;
  });
}

const tokenOf = (url: string): string => url.slice(url.lastIndexOf('/') + 1);
const caseStates = async (noticeId: string) => (await listAll((p) => host.store.listCases({ noticeId }, p))).map((c) => c.state);
const problemOf = (e: unknown): string => (e instanceof LinkUnusableError ? e.problem : `unexpected ${String(e)}`);

/** The host's ports with its clock moved by `ms` of domain time. */
function later(ms: number): Deps {
  return { ...host.deps, clock: new ScaledClock({ anchorDomain: host.clock.now().getTime() + ms }) };
}

describe('issueAnswerLinks', () => {
  it('mints three links under the public URL and stores only their hashes', async () => {
    const notice = await waitingNotice();
    const links = await issueAnswerLinks(host.deps, notice);
    const tokens = [links.acknowledge, links.actioned, links.notOurs].map(tokenOf);
    for (const url of Object.values(links)) expect(url.startsWith(`${host.httpUrl}/links/`)).toBe(true);
    expect(new Set(tokens).size).toBe(3);
    for (const t of tokens) expect(t.length * 5).toBeGreaterThanOrEqual(128);

    const records = await listAll((p) => host.store.listRecords(ANSWER_LINK_KIND, p));
    const stored = JSON.stringify(records);
    for (const t of tokens) {
      expect(stored).not.toContain(t);
      expect(records.map((r) => r.key)).toContain(host.deps.ids.hash(t));
    }
    const mine = records.filter((r) => tokens.some((t) => host.deps.ids.hash(t) === r.key)).map((r) => JSON.parse(r.value) as { intent: string; noticeId: string });
    expect(mine.map((v) => v.intent).sort()).toEqual(['acknowledged', 'actioned', 'not-ours']);
    expect(new Set(mine.map((v) => v.noticeId))).toEqual(new Set([notice.id]));
  });

  it('refuses to mint links that would lead nowhere when there is no public URL', async () => {
    const notice = await waitingNotice();
    const deps = { ...host.deps, settings: { ...host.deps.settings, publicUrl: undefined } };
    await expect(issueAnswerLinks(deps, notice)).rejects.toMatchObject({ code: 'LINKS.NO_PUBLIC_URL' });
  });
});

describe('confirmLink', () => {
  it('says what the link would do and applies nothing', async () => {
    const notice = await waitingNotice();
    const links = await issueAnswerLinks(host.deps, notice);
    const before = await caseStates(notice.id);
    const view = await confirmLink(host.deps, tokenOf(links.actioned));
    expect([view.intent, view.notice.id]).toEqual(['actioned', notice.id]);
    await confirmLink(host.deps, tokenOf(links.actioned));
    expect(await host.store.listAnswers(notice.id)).toHaveLength(0);
    expect(await caseStates(notice.id)).toEqual(before);
    expect((await host.store.getNotice(notice.id))?.taskToken).toBeDefined();
  });
});

describe('useLink', () => {
  it('applies its answer once and completes the waiting workflow', async () => {
    const notice = await waitingNotice();
    const links = await issueAnswerLinks(host.deps, notice);
    const used = await useLink(host.deps, tokenOf(links.acknowledge));
    expect([used.applied, used.intent, used.answer.source]).toEqual([true, 'acknowledged', 'link']);
    expect(await caseStates(notice.id)).toEqual(['acknowledged']);
    const after = await host.store.getNotice(notice.id);
    expect(after?.appliedAnswers).toContain(used.answer.id);
    // the workflow was woken: it parks again with a new token, for the action deadline
    await waitFor('the workflow to wait again', async () => {
      const n = await host.store.getNotice(notice.id);
      return n?.taskToken !== undefined && n.taskToken !== notice.taskToken;
    });
  });

  it('refuses a link used twice with "used" and applies nothing the second time', async () => {
    const notice = await waitingNotice();
    const token = tokenOf((await issueAnswerLinks(host.deps, notice)).notOurs);
    await useLink(host.deps, token);
    expect(problemOf(await useLink(host.deps, token).catch((e: unknown) => e))).toBe('used');
    expect(problemOf(await confirmLink(host.deps, token).catch((e: unknown) => e))).toBe('used');
    expect(await host.store.listAnswers(notice.id)).toHaveLength(1);
  });

  it('applies once when two uses race', async () => {
    const notice = await waitingNotice();
    const token = tokenOf((await issueAnswerLinks(host.deps, notice)).actioned);
    const outcomes = await Promise.allSettled([useLink(host.deps, token), useLink(host.deps, token)]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const lost = outcomes.find((o) => o.status === 'rejected');
    expect(problemOf(lost?.reason)).toBe('used');
    expect(await host.store.listAnswers(notice.id)).toHaveLength(1);
    expect(await caseStates(notice.id)).toEqual(['actioned']);
  });

  it('refuses an expired link with "expired" and applies nothing', async () => {
    const notice = await waitingNotice();
    const links = await issueAnswerLinks(host.deps, notice, { ttlSeconds: 3600 });
    const inTwoHours = later(2 * 3600_000);
    expect(problemOf(await confirmLink(inTwoHours, tokenOf(links.acknowledge)).catch((e: unknown) => e))).toBe('expired');
    expect(problemOf(await useLink(inTwoHours, tokenOf(links.acknowledge)).catch((e: unknown) => e))).toBe('expired');
    expect(await host.store.listAnswers(notice.id)).toHaveLength(0);
    // within its hour it still works
    await expect(confirmLink(later(1800_000), tokenOf(links.acknowledge))).resolves.toMatchObject({ intent: 'acknowledged' });
  });

  it('expires after 30 days by default', async () => {
    const notice = await waitingNotice();
    const token = tokenOf((await issueAnswerLinks(host.deps, notice)).acknowledge);
    await expect(confirmLink(later(29 * 86400_000), token)).resolves.toBeDefined();
    expect(problemOf(await confirmLink(later(31 * 86400_000), token).catch((e: unknown) => e))).toBe('expired');
  });

  it('refuses an unknown or malformed token with "unknown"', async () => {
    expect(problemOf(await useLink(host.deps, 'abcdefghjkmnpqrstvwxyz0123456789').catch((e: unknown) => e))).toBe('unknown');
    expect(problemOf(await useLink(host.deps, '../../etc/passwd').catch((e: unknown) => e))).toBe('unknown');
  });
});
