import { LOCAL_KEY_NAME } from '../../lib/local/keys.js';
import { statSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { localKeyFile } from '../../lib/local/keys.js';
import { api, killAllHosts, makeDataDir, removeDataDirs, runCli, startServe, waitFor, type CampaignView } from './support.js';

const takedown = runCli;

afterAll(async () => {
  await killAllHosts();
  removeDataDirs();
});

describe('takedown keys', () => {
  it('creates a key shown once, lists keys without them, and revokes one', async () => {
    const dataDir = makeDataDir();
    const created = await takedown(['keys', 'create', '--role', 'auditor', '--name', 'Court auditor', '--data-dir', dataDir]);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^tkd_[A-Za-z0-9_-]{43}$/);
    const id = /id:\s+(key_[0-9a-f]+)/.exec(created.stderr)![1]!;

    const listed = await takedown(['keys', 'list', '--json', '--data-dir', dataDir]);
    expect(listed.stdout).not.toContain(key.slice(4));
    expect((JSON.parse(listed.stdout) as { keys: { id: string; role: string; name: string; revokedAt?: string }[] }).keys).toEqual([
      expect.objectContaining({ id, role: 'auditor', name: 'Court auditor' }),
    ]);

    const revoked = await takedown(['keys', 'revoke', id, '--data-dir', dataDir]);
    expect(revoked.code, revoked.stderr).toBe(0);
    const after = JSON.parse((await takedown(['keys', 'list', '--json', '--data-dir', dataDir])).stdout) as { keys: { revokedAt?: string }[] };
    expect(after.keys[0]!.revokedAt).toBeDefined();
  }, 90_000);

  it('refuses a role that does not exist', async () => {
    const res = await takedown(['keys', 'create', '--role', 'admin', '--name', 'x', '--data-dir', makeDataDir()]);
    expect(res.code).not.toBe(0);
    expect(res.stdout).toBe('');
  }, 90_000);
});

describe('the CLI against a running host', () => {
  it('approves through the API with the host\'s local key, kept in a file only its user reads', async () => {
    const dataDir = makeDataDir();
    const host = await startServe({ dataDir, timeScale: 1 });
    expect(statSync(localKeyFile(dataDir)).mode & 0o777).toBe(0o600);

    const submitted = await api<{ campaign: { id: string } }>(host, '/campaigns', {
      body: { name: 'CLI approval', submitter: 'tester', content: '198.51.100.5\n', requireApproval: true },
    });
    expect(submitted.status).toBe(201);
    const id = submitted.body.campaign.id;
    await waitFor(async () => (await api<CampaignView>(host, `/campaigns/${id}`)).body.campaign.state === 'awaiting-approval', 15_000, 'the plan');

    const res = await takedown(['approve', id, '--as', 'duty officer', '--data-dir', dataDir]);
    expect(res.code, res.stderr).toBe(0);
    // the host's own key approved it; the name given with --as is whom it acted for, recorded beside it
    expect((await api<CampaignView>(host, `/campaigns/${id}`)).body.campaign).toMatchObject({ approvedBy: LOCAL_KEY_NAME, approvedOnBehalfOf: 'duty officer' });

    // a key made while the host runs works at once, and stops at once when revoked
    const created = await takedown(['keys', 'create', '--role', 'auditor', '--name', 'late auditor', '--data-dir', dataDir]);
    const key = created.stdout.trim();
    const get = () => fetch(`${host.httpUrl}/campaigns`, { headers: { authorization: `Bearer ${key}` } });
    expect((await get()).status).toBe(200);
    await takedown(['keys', 'revoke', /id:\s+(key_[0-9a-f]+)/.exec(created.stderr)![1]!, '--data-dir', dataDir]);
    expect((await get()).status).toBe(401);
  }, 120_000);
});
