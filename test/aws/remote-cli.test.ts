import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../lib/local/cli/main.js';
import { AUDITOR, COORDINATOR } from './harness/account.js';
import { call, useAccount } from './support.js';

/*
 * The CLI against the deployed AWS host: `takedown --api <url> --token <token>` changes the directory, the contact
 * overrides and recipients' secrets through the stack's HTTP API, as synthesised. The loopback server here stands
 * for API Gateway's endpoint: it hands each request to the harness's HTTP API, the bearer token naming a signed-in
 * user of the pool.
 */
const { account } = useAccount();
const TOKENS: Record<string, typeof COORDINATOR> = { 'coordinator-jwt': COORDINATOR, 'auditor-jwt': AUDITOR };
let server: Server;
let url = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'authorization' && k !== 'host').map(([k, v]) => [k, String(v)]));
      account()
        .request({ method: req.method ?? 'GET', path: req.url ?? '/', headers, ...(chunks.length ? { body: Buffer.concat(chunks).toString('utf8') } : {}), ...(TOKENS[token] ? { as: TOKENS[token] } : {}) })
        .then((r) => res.writeHead(r.status, { 'content-type': r.headers['content-type'] ?? 'application/json' }).end(r.body))
        .catch((e: Error) => res.writeHead(502).end(e.message));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
});

async function takedown(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  try {
    const code = await main(['node', 'takedown', ...args]);
    return { code, stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('takedown --api against the AWS host', () => {
  it('stores a directory file in the deployed host and shows it back', async () => {
    const set = await takedown('--api', url, '--token', 'coordinator-jwt', 'directory', 'set', join(import.meta.dirname, 'fixtures/directory.yaml'));
    expect(set.code).toBe(0);
    expect(set.stderr).toMatch(/directory version 1 stored by coordinator@cert\.example/);
    const shown = await takedown('--api', url, '--token', 'auditor-jwt', 'directory', 'show');
    expect(JSON.parse(shown.stdout)).toMatchObject({ source: 'stored', directory: { networks: expect.arrayContaining([expect.objectContaining({ cidr: '192.0.2.0/24' })]) } });
  });

  it('records a contact override and issues a webhook secret there, not on this machine', async () => {
    expect((await takedown('--api', url, '--token', 'coordinator-jwt', 'contacts', 'override', '198.51.100.0/24', 'noc@cli.example', '--note', 'desk moved')).code).toBe(0);
    expect((await call(account(), 'GET', '/contacts/overrides')).json.overrides).toEqual([expect.objectContaining({ target: '198.51.100.0/24', email: 'noc@cli.example' })]);
    const secret = await takedown('--api', url, '--token', 'coordinator-jwt', 'recipients', 'secret', 'create', 'hosting:192.0.2.0/24');
    expect(secret.code).toBe(0);
    expect(secret.stdout.trim()).toMatch(/^whsec_/);
  });

  it('refuses an auditor\'s change, and --api with a command that only runs on this machine', async () => {
    const refused = await takedown('--api', url, '--token', 'auditor-jwt', 'routing', 'set', join(import.meta.dirname, '../../examples/routing.yaml'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refused the token \(403/);
    const local = await takedown('--api', url, '--token', 'coordinator-jwt', 'status');
    expect(local.code).toBe(2);
    expect(local.stderr).toMatch(/runs on this machine/);
    expect(account().denials()).toEqual([]);
  });
});
