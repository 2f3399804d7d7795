import { describe, expect, it } from 'vitest';
import { allItems, call, endedRounds, useAccount } from './support.js';

/*
 * A file too big for a request body on the AWS host: the coordinator asks for a presigned URL, PUTs the file to
 * S3, and names the upload in POST /campaigns; the campaign workflow reads it from S3 a page of indicators per
 * step (the page here is 1,000, as an operator could set it; 50,000 by default), checking all of it first, so a
 * bad line anywhere refuses the whole upload with its line number and nothing is stored.
 */
const { account } = useAccount({ extraEnvironment: (spec): Record<string, string> => (spec.logicalId.startsWith('ReadUploadFunction') ? { UPLOAD_PAGE_SIZE: '1000' } : {}) });

async function upload(aws: ReturnType<typeof account>, text: string): Promise<string> {
  const body = Buffer.from(text, 'utf8');
  const asked = await call(aws, 'POST', '/uploads', { size: body.length });
  expect(asked.status).toBe(201);
  expect(asked.json).toMatchObject({ upload: expect.stringMatching(/^upl_/), url: expect.stringContaining('X-Amz-Signature='), expiresAt: expect.any(String) });
  // what curl -T does: the bytes, their length, nothing else
  const put = await fetch(asked.json.url, { method: 'PUT', body });
  expect(put.status).toBe(200);
  return asked.json.upload as string;
}

const csv = (lines: readonly string[]) => ['indicator,type,country,evidence', ...lines].join('\n');

describe('uploads on the AWS host', () => {
  it('reads 3,000 indicators uploaded by a presigned URL into one campaign, a page per step of the campaign workflow', async () => {
    const aws = account();
    const id = await upload(aws, csv(Array.from({ length: 3000 }, (_, i) => `http://192.0.2.20/kit/${i}/login.php,url,KE,phishing kit`)));
    const submitted = await call(aws, 'POST', '/campaigns', { upload: id, name: 'Uploaded', submitter: 'cert-tester', requireApproval: true });
    expect(submitted.status).toBe(202);
    const campaignId = submitted.json.campaign.id as string;
    // the request read nothing: the campaign exists once the workflow accepted the whole file
    const run = await aws.waitFor('the plan waiting for approval', () => aws.executions('campaign').find((e) => e.input.includes(id) && e.path.includes('AwaitApproval')), 240_000);
    expect(run.path.filter((s) => s === 'ReadUpload').length).toBe(3);
    expect(run.path.slice(0, 5)).toEqual(['FromUpload', 'ReadUpload', 'UploadRead', 'ReadUpload', 'UploadRead']);
    const view = await call(aws, 'GET', `/campaigns/${campaignId}`);
    expect(view.json.campaign).toMatchObject({ state: 'awaiting-approval', counts: { submitted: 3000, indicators: 3000 } });
    expect((await call(aws, 'GET', `/uploads/${id}`)).json.upload).toMatchObject({ state: 'accepted', campaignId });
    // the same request again starts nothing
    expect((await call(aws, 'POST', '/campaigns', { upload: id, name: 'Uploaded', submitter: 'cert-tester' })).status).toBe(200);
    expect(aws.executions('campaign').filter((e) => e.input.includes(id))).toHaveLength(1);
    expect(aws.denials()).toEqual([]);
  }, 300_000);

  it('reads an upload again when its workflow failed before the campaign existed: the sweeper starts the next round, which sends once', async () => {
    const aws = account();
    const id = await upload(aws, csv(['192.0.2.88,ip,KE,c2 server']));
    // Lambda refuses the reading function until the campaign workflow's retries run out
    aws.lambda.throttle('ReadUploadFunction', 1000);
    let campaignId: string;
    try {
      const submitted = await call(aws, 'POST', '/campaigns', { upload: id, name: 'Read again', submitter: 'cert-tester', requireApproval: false });
      expect(submitted.status).toBe(202);
      campaignId = submitted.json.campaign.id as string;
      await aws.waitFor('the failed reading', () => aws.executions('campaign').find((e) => e.input.includes(id) && e.status === 'FAILED'));
      expect((await call(aws, 'GET', `/campaigns/${campaignId}`)).status).toBe(404);
      expect((await call(aws, 'GET', `/uploads/${id}`)).json.upload).toMatchObject({ state: 'reading', campaignId });
    } finally {
      aws.lambda.throttle('ReadUploadFunction', 0);
    }
    aws.services.tick('Sweep');
    const progress = await aws.waitFor('the notice of the next round sent', async () => {
      const p = await call(aws, 'GET', `/campaigns/${campaignId}/progress`);
      return p.status === 200 && p.json.notices.out === 1 ? p.json : undefined;
    });
    // the campaign the next round recorded asks about that round: running, its notices on their own
    expect(progress).toStrictEqual({ campaign: { id: campaignId, state: 'running' }, notices: { out: 1, total: 1 } });
    expect(await endedRounds(aws, campaignId)).toEqual([
      ['-r1', 'FAILED'],
      ['-r2', 'SUCCEEDED'],
    ]);
    expect((await call(aws, 'GET', `/uploads/${id}`)).json.upload).toMatchObject({ state: 'accepted', campaignId, round: 2 });
    // the campaign that round recorded is at that round: the campaign's own sweep asks about it, not the failed one
    expect((await call(aws, 'GET', `/campaigns/${campaignId}`)).json.campaign).toMatchObject({ state: 'running', round: 2 });
    // the next sweep finds the campaign: nothing starts, nothing is sent again
    aws.services.tick('Sweep');
    await aws.services.settled();
    expect(aws.executions('campaign').filter((e) => e.input.includes(id))).toHaveLength(2);
    expect(aws.services.outbox.filter((m) => m.raw.includes('192.0.2.88'))).toHaveLength(1);
    expect(aws.denials()).toEqual([]);
  }, 120_000);

  it('refuses the whole upload for one bad line, naming its line, and stores nothing', async () => {
    const aws = account();
    const lines = Array.from({ length: 2500 }, (_, i) => `http://192.0.2.21/kit/${i}/login.php,url,KE,phishing kit`);
    lines[1999] = 'not a url at all,url,KE,typo';
    const id = await upload(aws, csv(lines));
    const submitted = await call(aws, 'POST', '/campaigns', { upload: id, name: 'Refused', submitter: 'cert-tester', requireApproval: true });
    expect(submitted.status).toBe(202);
    const refused = await aws.waitFor('the refusal', async () => {
      const u = (await call(aws, 'GET', `/uploads/${id}`)).json.upload;
      return u.state === 'refused' ? u : undefined;
    }, 60_000);
    // the header is line 1: the 2,000th indicator is on line 2001
    expect(refused.refusal).toMatchObject({ count: 1, issues: [{ where: expect.stringContaining('2001') }] });
    const campaignId = submitted.json.campaign.id as string;
    expect((await call(aws, 'GET', `/campaigns/${campaignId}`)).status).toBe(404);
    const run = aws.executions('campaign').find((e) => e.input.includes(id))!;
    await run.done;
    expect(run.path).toEqual(['FromUpload', 'ReadUpload', 'UploadRead', 'Refused']);
    expect((await allItems(aws)).filter((item) => item.pk?.S?.startsWith(`IND#${campaignId}`))).toHaveLength(0);
    expect(aws.denials()).toEqual([]);
  }, 120_000);

  it('reads no file whose size is not the one announced', async () => {
    const aws = account();
    const asked = await call(aws, 'POST', '/uploads', { size: 100 });
    // S3 itself refuses such a PUT (the length is signed); the harness does not check signatures, the API does check sizes
    expect((await fetch(asked.json.url, { method: 'PUT', body: Buffer.alloc(101, 0x61) })).status).toBe(200);
    const refused = await call(aws, 'POST', '/campaigns', { upload: asked.json.upload, name: 'Nothing', submitter: 'cert-tester' });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.json)).toContain('announced 100');
  });
});
