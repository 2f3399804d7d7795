import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHost, type Host, type HostConfig, type StartOptions } from '../../lib/local/host.js';
import { readLocalKey } from '../../lib/local/keys.js';
import { stubResolver } from '../support/mail-dns.js';

/** Poll until `check` returns a value (not undefined/false), or fail after `ms`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** An embedded host on a fresh data directory, listening on free loopback ports. */
export async function testHost(timeScale: number, options: StartOptions & { config?: HostConfig } = {}): Promise<Host & { dispose(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'takedown-wf-'));
  const host = await startHost(
    // probes only where a test gives its own loopback prober: its indicators would otherwise be probed for real
    { dataDir, timeScale, httpPort: 0, smtpPort: 0, logLevel: 'silent', probes: options.prober ? 'on' : 'off', ...options.config },
    // mail authentication is on, as in `takedown serve`, but asks a table, never the network: a test gives its own
    { listen: true, mailAuthResolver: stubResolver({}), ...options },
  );
  return Object.assign(host, {
    async dispose() {
      await host.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/** Headers that authenticate as the host's local coordinator key, as the CLI does. */
export function authHeaders(host: Host): Record<string, string> {
  return { authorization: `Bearer ${readLocalKey(host.files.dataDir)}` };
}

/** A request to the host's API with its local coordinator key; the body is parsed as JSON. */
export async function api<T = Record<string, unknown>>(host: Host, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${host.httpUrl}${path}`, {
    method,
    headers: { ...authHeaders(host), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** Submit a campaign over HTTP, as `POST /campaigns` clients do. */
export async function submit(host: Host, lines: string[], requireApproval = false): Promise<string> {
  const content = ['indicator,type,country,evidence', ...lines].join('\n');
  const res = await api<{ campaign: { id: string } }>(host, 'POST', '/campaigns', { name: 'Test operation', submitter: 'tester', content, requireApproval });
  if (res.status !== 201) throw new Error(`submit failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.campaign.id;
}

export interface OutboxMessage {
  readonly file: string;
  readonly raw: string;
  header(name: string): string | undefined;
}

/** The messages the embedded outbox captured, in arrival order. */
export function outbox(host: Host): OutboxMessage[] {
  return readdirSync(host.files.outbox)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((file) => {
      const raw = readFileSync(join(host.files.outbox, file), 'utf8');
      const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
      return {
        file,
        raw,
        header(name: string) {
          const m = new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head);
          return m?.[1]?.trim();
        },
      };
    });
}
