import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/adapters/http/api-keys.js';
import { parseMail } from '../../lib/adapters/mail/parse.js';
import { receiveMail } from '../../lib/core/answers/inbound.js';
import { reviewQueue } from '../../lib/core/answers/review-actions.js';
import type { Case, Notice } from '../../lib/core/model.js';
import type { Prober } from '../../lib/core/verify/index.js';
import { listAll } from '../../lib/core/paging.js';
import type { Host } from '../../lib/local/host.js';
import { CHROMIUM_ARGS, ensureChromium } from '../support/chromium.js';
import { api, outbox, submit, testHost, waitFor } from '../workflows/support.js';

/*
 * A coordinator's working day in the dashboard, in a real browser (Debian's Chromium): the review queue with
 * every kind of item (a question, a reply naming our notice without its token, a suspicious sender, mail that
 * matched nothing) and the form each needs; an escalation that asks first and refuses to go over a recipient
 * who acknowledged unless forced; the search box; the case list's filters; a case told as a story with the
 * message as sent; the charts; a disagreement between a party and the probe; the pages in French and Arabic.
 */

let host: Host & { dispose(): Promise<void> };
let context: BrowserContext;
let page: Page;
let profile: string;
let shots: string;
let key: string;
let campaignId: string;
let notices: Notice[];

// the South African panel stays up whatever its party says; everything else is gone when a party says so
const liveProber: Prober = {
  async probe(request) {
    const live = request.indicator.value === '203.0.113.5';
    return live
      ? { method: 'http', target: request.indicator.value, live: true, conclusive: true, verdict: 'live', detail: 'HTTP 200, the kit is still served', at: new Date().toISOString(), attempts: 1, evidence: { status: 200 } }
      : { method: 'tcp', target: request.indicator.value, live: false, conclusive: true, verdict: 'refused', detail: 'connection refused', at: new Date().toISOString(), attempts: 1, evidence: {} };
  },
};

beforeAll(async () => {
  const executablePath = ensureChromium();
  host = await testHost(1, { prober: liveProber });
  key = (await createApiKey(host.store, { role: 'coordinator', name: 'Duty coordinator' })).key;
  campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server', '192.0.2.11,ip,KE,C2 fallback', '198.51.100.5,ip,CI,phishing kit host', '203.0.113.5,ip,ZA,C2 panel']);
  notices = await waitFor('every notice sent', async () => {
    const all = await listAll((p) => host.store.listNotices({ campaignId }, p));
    return all.length === 3 && all.every((n) => n.state === 'sent' && n.taskToken) && all;
  });
  profile = mkdtempSync(join(tmpdir(), 'takedown-chromium-'));
  shots = mkdtempSync(join(tmpdir(), 'takedown-dashboard-shots-'));
  context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 30_000, locale: 'en-GB' });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  await page.goto(`${host.httpUrl}/ui`);
  await page.fill('input[name="key"]', key);
  await Promise.all([page.waitForURL(`${host.httpUrl}/ui`), page.click('button[type="submit"]')]);
}, 15 * 60_000);

afterAll(async () => {
  await context?.close();
  await host?.dispose();
  if (profile) rmSync(profile, { recursive: true, force: true });
  if (shots && readdirSync(shots).length === 0) rmSync(shots, { recursive: true, force: true });
});

async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const file = join(shots, `${name.replace(/[^a-z0-9]+/gi, '-')}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    console.error(`dashboard test failed at "${name}": screenshot in ${file}`);
    throw e;
  }
}

const byParty = (email: string) => notices.find((n) => n.party.email === email)!;
const casesOf = (noticeId: string): Promise<Case[]> => listAll((p) => host.store.listCases({ noticeId }, p));

async function mail(lines: string[]): Promise<void> {
  await receiveMail(host.deps, await parseMail([...lines, ''].join('\r\n')));
}

describe('the review queue', () => {
  it('shows a question, an unverified reply, a suspicious sender and unmatched mail, each with the form it needs', async () => {
    const kenya = byParty('abuse@hosting.example');
    const ci = byParty('abuse@demo-dc.example');
    const sentToCi = outbox(host).find((m) => m.raw.includes(ci.tag))!;
    await step('queue four kinds of item', async () => {
      await api(host, 'POST', `/notices/${kenya.id}/answers`, { intent: 'needs-info', note: 'Which path serves the kit?' });
      // our tag, but not our reply token: anyone could have written it
      await mail(['From: Abuse <abuse@demo-dc.example>', 'To: takedown@reply.example', `Subject: Re: [${ci.tag}] your notice`, 'Message-ID: <unverified-1@demo-dc.example>', '', 'We have removed it.']);
      // the token, from a mailbox outside the contact's domain
      await mail(['From: Someone <someone@freemail.example>', `To: ${sentToCi.header('Reply-To')}`, `Subject: Re: ${sentToCi.header('Subject')}`, 'Message-ID: <suspicious-1@freemail.example>', '', 'We have suspended the server.']);
      await mail(['From: stranger@elsewhere.example', 'To: takedown@reply.example', 'Subject: hello', 'Message-ID: <stray-1@elsewhere.example>', '', 'Is this about us?']);
      const reasons = (await reviewQueue(host.deps)).open.map((i) => i.reason).sort();
      expect(reasons).toEqual(['needs-info', 'suspicious', 'unmatched', 'unverified']);
    });

    await step('the queue page', async () => {
      await page.click('nav a[href="/ui/reviews"]');
      expect(await page.locator('h1').textContent()).toBe('Review queue');
      expect(await page.locator('tr.review').count()).toBe(4);
      const question = page.locator('tr.review-needs-info');
      expect(await question.textContent()).toContain('The recipient asked a question');
      expect(await question.locator('q.their-words').textContent()).toBe('Which path serves the kit?');
      expect(await question.locator('textarea[name="message"]').count()).toBe(1);
      expect(await page.locator('tr.review-unverified').textContent()).toContain('Names our notice without the reply token');
      expect(await page.locator('tr.review-suspicious').textContent()).toContain('Sender not authenticated or outside the contact domain');
      // unmatched mail names no notice: applying it asks which
      expect(await page.locator('tr.review-unmatched input[name="noticeId"]').count()).toBe(1);
    });

    await step('answer the question, dismiss the stray, apply the unverified reply', async () => {
      await page.locator('tr.review-needs-info textarea[name="message"]').fill('The kit is served at /gate.php on port 8443.');
      await Promise.all([page.waitForURL('**/ui/reviews?done=answered'), page.locator('tr.review-needs-info button:has-text("Send the answer")').click()]);
      expect(await page.locator('.flash').textContent()).toContain('the question is settled');
      expect(outbox(host).some((m) => m.raw.includes('/gate.php on port 8443'))).toBe(true);
      await Promise.all([page.waitForURL('**/ui/reviews?done=dismissed'), page.locator('tr.review-unmatched button:has-text("Dismiss")').click()]);
      await page.locator('tr.review-unverified select[name="intent"]').selectOption('acknowledged');
      await Promise.all([page.waitForURL('**/ui/reviews?done=applied'), page.locator('tr.review-unverified button:has-text("Apply")').click()]);
      expect(await page.locator('tr.review').count()).toBe(1);
      await page.goto(`${host.httpUrl}/ui/reviews?resolved=1`);
      const decided = await page.locator('table.resolved tr[data-action]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')).sort());
      expect(decided).toEqual(['applied', 'dismissed', 'settled']);
    });
  });
});

describe('escalating from the dashboard', () => {
  it('asks what and why first, refuses to go over a recipient that acknowledged unless forced, and says what it did', async () => {
    const ci = byParty('abuse@demo-dc.example');
    const [c] = await casesOf(ci.id);
    expect(c!.state).toBe('acknowledged');
    await step('the confirmation page', async () => {
      await page.goto(`${host.httpUrl}/ui/cases/${c!.id}`);
      await page.click('form.controls button:has-text("Escalate now")');
      expect(await page.locator('h1').textContent()).toBe('Escalate now?');
      expect(await page.locator('.warning').textContent()).toMatch(/acknowledged this case .* escalating now needs force/);
      expect((await host.store.getCase(c!.id))?.state).toBe('acknowledged');
    });
    await step('refused without force', async () => {
      await page.fill('textarea[name="reason"]', 'they acknowledged three days ago and the kit is still up');
      await page.click('form.confirm-form button[type="submit"]');
      expect(await page.locator('h1').textContent()).toBe('Escalate now?');
      expect(await page.locator('.error').textContent()).toContain('needs force');
      expect((await host.store.getCase(c!.id))?.state).toBe('acknowledged');
    });
    await step('forced', async () => {
      await page.check('input[name="force"]');
      await Promise.all([page.waitForURL(`**/ui/cases/${c!.id}?*`), page.click('form.confirm-form button[type="submit"]')]);
      expect(await page.locator('.flash').textContent()).toMatch(/^Escalated: 1 case, 1 notice; new notices n[a-z0-9]{16}\.$/);
      expect((await host.store.getCase(c!.id))?.state).toBe('escalated');
      expect(await page.locator('ol.story').textContent()).toContain('Escalated by hand by Duty coordinator: they acknowledged three days ago and the kit is still up');
    });
  });
});

describe('finding and reading a case', () => {
  it('finds a defanged indicator from the search box, tells its case as a story and shows the message as sent', async () => {
    await step('search', async () => {
      await page.goto(`${host.httpUrl}/ui`);
      await page.fill('form.search input[name="q"]', '203.0.113[.]5');
      await Promise.all([page.waitForURL('**/ui/search?q=*'), page.click('form.search button')]);
      expect(await page.locator('.read-as').textContent()).toBe('Read as the indicator 203.0.113.5.');
      expect(await page.locator('table.found-cases tbody tr').count()).toBe(1);
      await Promise.all([page.waitForURL('**/ui/cases/*'), page.click('table.found-cases a.mono >> nth=0')]);
    });
    await step('the story', async () => {
      const story = await page.locator('ol.story').textContent();
      expect(story).toMatch(/Notice sent to Example Networks \(Pty\) Ltd <abuse@example-networks\.example>, 1 case\(s\); answer due/);
      // the raw record is there, folded
      expect(await page.locator('details.raw').getAttribute('open')).toBeNull();
      expect(await page.locator('details.raw table.timeline').textContent()).toContain('notice.sent');
    });
    await step('the message as sent', async () => {
      await Promise.all([page.waitForURL('**/ui/messages/**'), page.click('a.read-message >> nth=0')]);
      expect(await page.locator('.message-subject').textContent()).toMatch(/^\[TKD-n[a-z0-9]{16}\]/);
      expect(await page.locator('pre.message').textContent()).toContain('203.0.113.5');
      const href = await page.locator('a.raw-message').getAttribute('href');
      const raw = await page.request.get(`${host.httpUrl}${href}`);
      expect(raw.headers()['content-type']).toContain('message/rfc822');
      const text = await raw.text();
      // the copy kept holds no working token: the reply address's token is masked
      expect(text).toMatch(/Reply-To:\s+\S*\+n[a-z0-9]{16}\.x{16,}@/);
    });
  });

  it('shows a party that says down and a probe that says live as a disagreement', async () => {
    const za = byParty('abuse@example-networks.example');
    const [c] = await casesOf(za.id);
    await api(host, 'POST', `/notices/${za.id}/answers`, { intent: 'actioned', note: 'server suspended' });
    await waitFor('the probe to find it live', async () => (await host.store.getCase(c!.id))?.probe?.live === true);
    await step('the disagreement', async () => {
      await page.goto(`${host.httpUrl}/ui/cases/${c!.id}`);
      expect(await page.locator('.disagreement').textContent()).toMatch(/They disagree\. Example Networks \(Pty\) Ltd says it is down; the probe at .* says it is live: HTTP 200, the kit is still served/);
    });
  });
});

describe('the campaign page', () => {
  it('filters the cases by state, country, provider and kind, and draws progress and time to takedown', async () => {
    const kenya = byParty('abuse@hosting.example');
    await api(host, 'POST', `/notices/${kenya.id}/answers`, { intent: 'actioned', note: 'both servers wiped' });
    await waitFor('both Kenyan cases verified down', async () => (await casesOf(kenya.id)).every((c) => c.state === 'verified-down'));
    await step('filters', async () => {
      await page.goto(`${host.httpUrl}/ui/campaigns/${campaignId}`);
      const all = Number(await page.locator('.cases-matched').getAttribute('data-matched'));
      expect(all).toBeGreaterThanOrEqual(5);
      await page.selectOption('form.filters select[name="country"]', 'KE');
      await Promise.all([page.waitForURL('**/ui/campaigns/*?*'), page.click('form.filters button')]);
      const countries = await page.locator('table.cases tbody tr td:nth-child(3)').allTextContents();
      expect(countries.length).toBe(2);
      expect(new Set(countries)).toEqual(new Set(['KE']));
      await page.selectOption('form.filters select[name="kind"]', 'cert');
      await Promise.all([page.waitForURL('**/ui/campaigns/*?*'), page.click('form.filters button')]);
      expect(await page.locator('.cases-matched').getAttribute('data-matched')).toBe('0');
      await page.goto(`${host.httpUrl}/ui/campaigns/${campaignId}?state=escalated`);
      expect(await page.locator('table.cases tbody tr').count()).toBe(1);
    });
    await step('charts', async () => {
      await page.goto(`${host.httpUrl}/ui/campaigns/${campaignId}`);
      expect(await page.locator('svg.progress-chart polyline[data-series="notified"]').getAttribute('data-count')).toBe('4');
      expect(await page.locator('svg.progress-chart polyline[data-series="actioned"]').getAttribute('data-count')).toBe('3');
      expect(await page.locator('svg.progress-chart polyline[data-series="verified"]').getAttribute('data-count')).toBe('2');
      expect(await page.locator('svg.tta-chart g.provider').count()).toBe(1);
      expect(await page.locator('svg.tta-chart g.provider').getAttribute('data-provider')).toBe('hosting:192.0.2.0/24');
      const box = await page.locator('svg.progress-chart').boundingBox();
      expect(box!.width).toBeGreaterThan(300);
    });
  });
});

describe('the dashboard in another language', () => {
  it('speaks French to a French browser and Arabic, right to left, to an Arabic one', async () => {
    const browser = await chromium.launch({ executablePath: ensureChromium(), headless: true, args: CHROMIUM_ARGS });
    for (const [locale, heading, dir] of [['fr-FR', 'Campagnes', 'ltr'], ['ar-EG', 'الحملات', 'rtl']] as const) {
      const other = await browser.newContext({ locale });
      try {
        const p = await other.newPage();
        await p.goto(`${host.httpUrl}/ui`);
        await p.fill('input[name="key"]', key);
        await Promise.all([p.waitForURL(`${host.httpUrl}/ui`), p.click('button[type="submit"]')]);
        expect(await p.locator('h1').textContent(), locale).toBe(heading);
        expect(await p.locator('html').getAttribute('dir'), locale).toBe(dir);
        await p.goto(`${host.httpUrl}/ui/campaigns/${campaignId}`);
        expect(await p.locator('p.counts').textContent(), locale).not.toMatch(/indicators|cases/);
      } finally {
        await other.close();
      }
    }
    await browser.close();
  });
});
