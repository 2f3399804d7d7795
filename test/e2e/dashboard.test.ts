import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/adapters/http/api-keys.js';
import { parseMail } from '../../lib/adapters/mail/parse.js';
import { receiveMail } from '../../lib/core/answers/inbound.js';
import { listAll } from '../../lib/core/paging.js';
import type { Host } from '../../lib/local/host.js';
import { CHROMIUM_ARGS, ensureChromium } from '../support/chromium.js';
import { outbox, submit, testHost, waitFor } from '../workflows/support.js';

/*
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against a campaign the embedded
 * host runs: sign in, approve the plan, open a case and its timeline, apply a review item, pause and resume a
 * case; then an auditor sees
 * the same pages without a single form to change anything. One browser launch for the whole file.
 */

let host: Host & { dispose(): Promise<void> };
let context: BrowserContext;
let page: Page;
let profile: string;
let shots: string;
const keys = { coordinator: '', auditor: '' };

beforeAll(async () => {
  const executablePath = ensureChromium();
  host = await testHost(1);
  keys.coordinator = (await createApiKey(host.store, { role: 'coordinator', name: 'Duty coordinator' })).key;
  keys.auditor = (await createApiKey(host.store, { role: 'auditor', name: 'Court auditor' })).key;
  profile = mkdtempSync(join(tmpdir(), 'takedown-chromium-'));
  shots = mkdtempSync(join(tmpdir(), 'takedown-dashboard-shots-'));
  context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
}, 15 * 60_000);

afterAll(async () => {
  await context?.close();
  await host?.dispose();
  if (profile) rmSync(profile, { recursive: true, force: true });
  // kept only when a step failed and left its screenshot
  if (shots && readdirSync(shots).length === 0) rmSync(shots, { recursive: true, force: true });
});

/** Runs a step; on failure saves a screenshot of the page and prints where. */
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

async function signIn(key: string): Promise<void> {
  await page.goto(`${host.httpUrl}/ui`);
  await page.fill('input[name="key"]', key);
  await Promise.all([page.waitForURL(`${host.httpUrl}/ui`), page.click('button[type="submit"]')]);
}

describe('the dashboard', () => {
  it('lets a coordinator approve a plan, follow a case and apply a review item, and shows an auditor the same read-only', async () => {
    const campaignId = await submit(host, ['198.51.100.5,ip,CI,phishing kit host', '203.0.113.5,ip,ZA,C2 server'], true);
    await waitFor('the plan', async () => ((await host.store.getCampaign(campaignId))?.state === 'awaiting-approval' ? true : undefined));

    await step('sign in as coordinator', async () => {
      await page.goto(`${host.httpUrl}/ui`);
      // not signed in: the sign-in form, answered 401
      expect(await page.locator('h1').textContent()).toBe('Sign in');
      await signIn(keys.coordinator);
      expect(await page.locator('h1').textContent()).toBe('Campaigns');
      expect(await page.locator('header .who').textContent()).toContain('Duty coordinator');
    });

    await step('approve the plan', async () => {
      await page.click(`a[href="/ui/campaigns/${campaignId}"]`);
      await page.waitForURL(`**/ui/campaigns/${campaignId}`);
      expect(await page.locator('.chain').textContent()).toContain('Audit chain intact');
      await Promise.all([page.waitForURL(`**/ui/campaigns/${campaignId}`), page.click('button:has-text("Approve plan")')]);
      expect(await page.locator('button:has-text("Approve plan")').count()).toBe(0);
      const approved = await host.store.getCampaign(campaignId);
      expect(approved?.approvedBy).toBe('Duty coordinator');
    });

    const notices = await waitFor('every notice sent', async () => {
      const all = await listAll((p) => host.store.listNotices({ campaignId }, p));
      return all.length > 0 && all.every((n) => n.state === 'sent' && n.taskToken) && all;
    });

    await step('progress and a case timeline', async () => {
      await page.reload();
      const total = page.locator('table.progress[data-by="total"] tbody td');
      // identified, notified: every case went out
      expect(await total.nth(1).textContent()).toBe('2');
      expect(await total.nth(2).textContent()).toBe('2');
      expect(await page.locator('table.progress[data-by="country"] tbody tr').count()).toBe(2);
      await page.click('table.cases a >> nth=0');
      await page.waitForURL('**/ui/cases/**');
      const timeline = await page.locator('table.timeline').textContent();
      expect(timeline).toContain('notice.sent');
      expect(await page.locator('ol.story').textContent()).toContain('Notice sent to');
      expect(await page.locator('table.timeline tr.entry-message').count()).toBeGreaterThan(0);
    });

    const notice = notices[0]!;
    const sent = outbox(host).find((m) => m.raw.includes(notice.tag))!;
    await step('queue an unclear reply', async () => {
      const raw = [
        'From: Abuse Desk <abuse@hosting.example>',
        `To: ${sent.header('Reply-To')}`,
        `Subject: Re: ${sent.header('Subject')}`,
        'Message-ID: <unclear-1@hosting.example>',
        `In-Reply-To: ${sent.header('Message-ID')}`,
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Who are you and why do you write to us?',
        '',
      ].join('\r\n');
      const result = await receiveMail(host.deps, await parseMail(raw));
      expect(result.outcome).toBe('review');
    });

    await step('apply the review item', async () => {
      await page.click('nav a[href="/ui/reviews"]');
      const row = page.locator('tr.review');
      expect(await row.count()).toBe(1);
      await row.locator('select[name="intent"]').selectOption('acknowledged');
      await Promise.all([page.waitForURL('**/ui/reviews?done=applied'), row.locator('button:has-text("Apply")').click()]);
      expect(await page.locator('tr.review').count()).toBe(0);
      const answers = await host.store.listAnswers(notice.id);
      expect(answers.map((a) => [a.intent, a.source, a.from])).toEqual([['acknowledged', 'manual', 'Duty coordinator']]);
      const cases = await listAll((p) => host.store.listCases({ noticeId: notice.id }, p));
      expect(cases.every((c) => c.state === 'acknowledged')).toBe(true);
    });

    await step('pause and resume a case', async () => {
      const other = (await listAll((p) => host.store.listCases({ campaignId }, p))).find((c) => c.noticeId !== notice.id)!;
      await page.goto(`${host.httpUrl}/ui/cases/${other.id}`);
      // the button only asks: the next page says what it does and wants the reason
      await page.click('form.controls button:has-text("Pause")');
      expect(await page.locator('h1').textContent()).toBe('Pause the clock?');
      expect((await host.store.getCase(other.id))?.state).toBe('notified');
      await page.fill('textarea[name="reason"]', 'operator asked for 24 h');
      await Promise.all([page.waitForURL(`**/ui/cases/${other.id}?*`), page.click('form.confirm-form button[type="submit"]')]);
      expect((await host.store.getCase(other.id))?.state).toBe('paused');
      expect(await page.locator('.flash').textContent()).toBe('Paused: 1 case, 1 notice.');
      expect(await page.locator('table.timeline').textContent()).toContain('operator asked for 24 h');
      await page.click('form.controls button:has-text("Resume")');
      await page.fill('textarea[name="reason"]', 'the operator is done');
      await Promise.all([page.waitForURL(`**/ui/cases/${other.id}?*`), page.click('form.confirm-form button[type="submit"]')]);
      expect((await host.store.getCase(other.id))?.state).toBe('notified');
    });

    await step('an auditor sees it all and can change nothing', async () => {
      await Promise.all([page.waitForURL('**/ui/login'), page.click('button:has-text("Sign out")')]);
      await signIn(keys.auditor);
      for (const path of ['/ui', `/ui/campaigns/${campaignId}`, '/ui/reviews']) {
        await page.goto(`${host.httpUrl}${path}`);
        // the only form that posts is signing out; the others only search and filter
        expect(await page.locator('form[method="post"]').count(), path).toBe(1);
        expect(await page.locator('form[method="post"]').getAttribute('action'), path).toBe('/ui/logout');
        expect(await page.locator('form[method="post"] button').allTextContents(), path).toEqual(['Sign out']);
      }
      const answered = (await listAll((p) => host.store.listCases({ noticeId: notice.id }, p)))[0]!;
      await page.goto(`${host.httpUrl}/ui/campaigns/${campaignId}`);
      await Promise.all([page.waitForURL(`**/ui/cases/${answered.id}`), page.click(`a[href="/ui/cases/${answered.id}"]`)]);
      expect(await page.locator('table.timeline').textContent()).toContain('answer.applied');
      expect(await page.locator('form[method="post"] button').allTextContents()).toEqual(['Sign out']);
    });
  });
});
