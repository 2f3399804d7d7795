import { afterAll, beforeAll } from 'vitest';
import { startDnsStub, type DnsStub } from '../support/dns-stub.js';
import { startCorpusServer } from '../support/rdap.js';
import type { LocalRdapServer } from '../../lib/adapters/rdap/local-server.js';
import { AwsAccount, AUDITOR, COORDINATOR, type AccountOptions } from './harness/account.js';
import type { SentEmail } from './harness/services.js';

/**
 * One account for the tests of a file, with a DNS stub the verification probes ask (every name the tests use is
 * answered on loopback: nothing is probed for real).
 */
export function useAccount(options: AccountOptions & { probeEnvironment?: () => Record<string, string> } = {}): { account(): AwsAccount; dns(): DnsStub; rdap(): LocalRdapServer } {
  let account: AwsAccount | undefined;
  let dns: DnsStub | undefined;
  let rdap: LocalRdapServer | undefined;
  beforeAll(async () => {
    dns = await startDnsStub();
    // the registries' RDAP servers, on loopback: the real answers of the corpus behind a bootstrap that names it
    rdap = await startCorpusServer();
    const stub = dns;
    const registries = rdap;
    account = await AwsAccount.start({
      ...options,
      extraEnvironment: (spec) => ({
        // what an operator with an RDAP service of their own sets; names resolve on the stub, never for real
        ...(spec.environment.RDAP_MODE === 'real' ? { RDAP_BOOTSTRAP: registries.bootstrapUrl, RDAP_DNS: stub.server } : {}),
        ...(spec.logicalId.startsWith('VerifyNoticeFunction')
          ? { TAKEDOWN_PROBE_DNS: stub.server, TAKEDOWN_PROBE_INTERVAL_MS: '0', TAKEDOWN_PROBE_TIMEOUT_MS: '2000', TAKEDOWN_PROBE_RETRIES: '0', ...(options.probeEnvironment?.() ?? {}) }
          : {}),
        ...(options.extraEnvironment?.(spec) ?? {}),
      }),
    });
  }, 300_000);
  afterAll(async () => {
    await account?.close();
    await dns?.close();
    await rdap?.close();
  }, 60_000);
  return { account: () => account!, dns: () => dns!, rdap: () => rdap! };
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** POST /campaigns as a coordinator; the CSV lines after the header. Returns the campaign id. */
export async function submitCampaign(account: AwsAccount, lines: readonly string[], options: { requireApproval?: boolean; name?: string } = {}): Promise<string> {
  const content = ['indicator,type,country,evidence', ...lines].join('\n');
  const res = await account.request({
    method: 'POST',
    path: '/campaigns',
    as: COORDINATOR,
    headers: JSON_HEADERS,
    body: JSON.stringify({ name: options.name ?? 'Harness operation', submitter: 'cert-tester', content, requireApproval: options.requireApproval ?? false }),
  });
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${res.body}`);
  return res.json().campaign.id as string;
}

/**
 * A campaign of the CSV lines after the header by the upload path (POST /uploads, a PUT to the presigned URL,
 * POST /campaigns { upload }); resolves to the campaign's id once the campaign workflow accepted the file.
 */
export async function uploadCampaign(account: AwsAccount, lines: readonly string[], options: { requireApproval?: boolean; name?: string } = {}): Promise<string> {
  const body = Buffer.from(['indicator,type,country,evidence', ...lines].join('\n'), 'utf8');
  const asked = await call(account, 'POST', '/uploads', { size: body.length });
  if (asked.status !== 201) throw new Error(`POST /uploads answered ${asked.status}`);
  const put = await fetch(asked.json.url, { method: 'PUT', body });
  if (put.status !== 200) throw new Error(`the upload answered ${put.status}`);
  const started = await call(account, 'POST', '/campaigns', { upload: asked.json.upload, name: options.name ?? 'Harness operation', submitter: 'cert-tester', requireApproval: options.requireApproval ?? false });
  if (started.status !== 202) throw new Error(`submit answered ${started.status}: ${JSON.stringify(started.json)}`);
  const id = started.json.campaign.id as string;
  await account.waitFor('the upload accepted', async () => ((await call(account, 'GET', `/campaigns/${id}`)).status === 200 ? true : undefined), 120_000);
  return id;
}

/** A campaign's workflow executions as `[-r<round>, status]`, once none of them runs any more. */
export function endedRounds(account: AwsAccount, campaignId: string): Promise<string[][]> {
  return account.waitFor(`the rounds of ${campaignId} ended`, () => {
    const all = account.executions('campaign').filter((e) => e.name.includes(campaignId));
    return all.every((e) => e.status !== 'RUNNING') && all.map((e) => [e.name.slice(-3), e.status]);
  });
}

/** A JSON request as a user of the pool. */
export async function call(account: AwsAccount, method: string, path: string, body?: unknown, as = COORDINATOR): Promise<{ status: number; json: any }> {
  const res = await account.request({ method, path, as, headers: JSON_HEADERS, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  let json: unknown;
  try {
    json = JSON.parse(res.body);
  } catch {
    json = res.body;
  }
  return { status: res.status, json };
}

/** The campaign as an auditor reads it: its notices and how many cases are in each state. */
export async function campaignView(account: AwsAccount, id: string): Promise<{ notices: { id: string; to: string; state: string; round?: number }[]; cases: Record<string, number> }> {
  const res = await call(account, 'GET', `/campaigns/${id}`, undefined, AUDITOR);
  if (res.status !== 200) throw new Error(`GET /campaigns/${id} answered ${res.status}`);
  return { notices: res.json.notices.map((n: any) => ({ id: n.id, to: n.recipient?.email ?? n.to ?? n.contact, state: n.state, round: n.round, ...n })), cases: res.json.cases };
}

/** A header of a sent message (unfolded). */
export function header(mail: SentEmail, name: string): string | undefined {
  const head = mail.raw.slice(0, mail.raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  return new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1]?.trim();
}

/** The messages SES accepted for an address. */
export function sentTo(account: AwsAccount, address: string): SentEmail[] {
  return account.services.outbox.filter((m) => m.to.some((t) => t.toLowerCase() === address.toLowerCase()));
}

/** A recipient's reply to a notice, as their mail client writes it. */
export function replyTo(notice: SentEmail, from: string, text: string): { raw: string; to: string } {
  const replyAddress = /<?([^\s<>]+@[^\s<>]+)>?/.exec(header(notice, 'Reply-To') ?? '')?.[1];
  if (!replyAddress) throw new Error('the notice has no Reply-To');
  const subject = header(notice, 'Subject') ?? '';
  const raw = [
    `From: Abuse Desk <${from}>`,
    `To: <${replyAddress}>`,
    `Subject: Re: ${subject}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${Math.random().toString(36).slice(2)}@${from.split('@')[1]}>`,
    `In-Reply-To: ${header(notice, 'Message-ID') ?? ''}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    text,
    '',
  ].join('\r\n');
  return { raw, to: replyAddress };
}

/** The API paths of the one-click links in a notice (their host is the API's). */
export function linksIn(mail: SentEmail, apiUrl: string): string[] {
  const text = mail.raw.replace(/=\r\n/g, '');
  const host = new URL(apiUrl).host.replace(/\./g, '\\.');
  return [...new Set([...text.matchAll(new RegExp(`https://${host}(/links/[A-Za-z0-9_-]+)`, 'g'))].map((m) => m[1]!))];
}

/** Every item of the account's table, read with the operator's credentials (a scan, page by page). */
export async function allItems(account: AwsAccount): Promise<Record<string, import('@aws-sdk/client-dynamodb').AttributeValue>[]> {
  const { DynamoDBClient, ScanCommand } = await import('@aws-sdk/client-dynamodb');
  const client = new DynamoDBClient(account.operatorClientConfig());
  const items: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue>[] = [];
  try {
    let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: account.tableName, ...(start ? { ExclusiveStartKey: start } : {}) }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
  } finally {
    client.destroy();
  }
  return items;
}
