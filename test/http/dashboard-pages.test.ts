import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/adapters/http/api-keys.js';
import type { Host } from '../../lib/local/host.js';
import { api, testHost, waitFor } from '../workflows/support.js';

/* The dashboard's pages over HTTP, without a browser: what they say, and what they never let through. */

let host: Host & { dispose(): Promise<void> };
let auditor: string;
let campaignId: string;
const HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>';

beforeAll(async () => {
  host = await testHost(1);
  auditor = (await createApiKey(host.store, { role: 'auditor', name: 'Auditor <b>bold</b>' })).key;
  const res = await api<{ campaign: { id: string } }>(host, 'POST', '/campaigns', {
    name: `Operation ${HOSTILE}`,
    submitter: 'tester',
    legalBasis: `Art. 5 ${HOSTILE}`,
    content: `indicator,type,country,evidence\n198.51.100.5,ip,CI,"${HOSTILE.replaceAll('"', '""')}"\n`,
    requireApproval: true,
  });
  campaignId = res.body.campaign.id;
  await waitFor('the plan', async () => ((await host.store.getCampaign(campaignId))?.state === 'awaiting-approval' ? true : undefined));
});
afterAll(async () => host?.dispose());

async function page(path: string): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${host.httpUrl}${path}`, { headers: { authorization: `Bearer ${auditor}` } });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

describe('the dashboard pages', () => {
  it('escape everything that came from outside: campaign names, evidence, key names', async () => {
    const caseId = (await host.store.listCases({ campaignId })).items[0]!.id;
    for (const path of ['/ui', `/ui/campaigns/${campaignId}`, `/ui/cases/${caseId}`]) {
      const { status, text } = await page(path);
      expect(status, path).toBe(200);
      expect(text, path).not.toContain('<script');
      expect(text, path).not.toContain('<img');
      expect(text, path).not.toContain('<b>bold');
    }
    expect((await page(`/ui/cases/${caseId}`)).text).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
  });

  it('forbid scripts, framing and caching', async () => {
    const { headers } = await page('/ui');
    expect(headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(headers.get('cache-control')).toBe('no-store');
  });

  it('show an auditor the plan waiting for approval without the button', async () => {
    const { text } = await page(`/ui/campaigns/${campaignId}`);
    expect(text).toContain('waits for a coordinator&#39;s approval');
    expect(text).not.toContain('Approve plan');
    expect(text).not.toMatch(/<form[^>]*method="post"[^>]*action="\/ui\/(?!logout)/);
  });

  it('answer an unknown campaign or case with a 404 page', async () => {
    expect((await page('/ui/campaigns/cmp_0000000000000000')).status).toBe(404);
    expect((await page('/ui/cases/c0000000000000000')).status).toBe(404);
    expect((await page('/ui/cases/..%2Fetc')).status).toBe(404);
  });
});
