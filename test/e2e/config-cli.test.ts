import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, realUseGaps, SETTINGS } from '../../lib/local/config.js';
import { SqliteStore } from '../../lib/adapters/sqlite/store.sqlite.js';
import { openMessageStore } from '../../lib/local/message-store.js';
import { api, submit, testHost, waitFor } from '../workflows/support.js';
import { makeDataDir, removeDataDirs, REPO_ROOT, runCli } from './support.js';

/*
 * One settings file per data directory (takedown.yaml), every key also a TAKEDOWN_* variable: flag > env > file
 * > the last serve's > default; `takedown config check` says what is in force, where it came from, and what real
 * use still needs; and a command run while no host serves composes with the settings the host ran with.
 */

afterAll(() => removeDataDirs());

const REAL = [
  'organisation: CERT-XY',
  'senderName: CERT-XY takedown desk',
  'fromAddress: CERT-XY <takedown@cert-xy.org>',
  'replyMailbox: takedown@reply.cert-xy.org',
  'publicUrl: https://takedown.cert-xy.org',
  'mailAuth: dns',
  'smtpUrl: smtp://mailer:s3cret@relay.cert-xy.org:587',
  'directory: /etc/takedown/directory.yaml',
  'rdap: real',
  '',
].join('\n');

describe('the settings of a data directory', () => {
  it('layer flag over environment over the file over the default, and say where each came from', async () => {
    const dataDir = makeDataDir();
    writeFileSync(join(dataDir, 'takedown.yaml'), 'senderName: From the file\nmaxMessageBytes: 500000\ntimeScale: 60\n');
    const loaded = await loadConfig({ dataDir, env: { TAKEDOWN_SENDER_NAME: 'From the environment', TAKEDOWN_TIME_SCALE: '120' }, flags: { timeScale: 240 } });
    expect(loaded.values).toMatchObject({ senderName: 'From the environment', maxMessageBytes: 500000, timeScale: 240 });
    expect(loaded.sources).toMatchObject({
      senderName: { kind: 'env', name: 'TAKEDOWN_SENDER_NAME' },
      maxMessageBytes: { kind: 'file' },
      timeScale: { kind: 'flag' },
      publicUrl: { kind: 'default' },
    });
  });

  it('refuse a bad file naming its line, the key and the value, and an unknown key with the known ones', async () => {
    const dataDir = makeDataDir();
    writeFileSync(join(dataDir, 'takedown.yaml'), 'organisation: CERT-XY\npublicUrl: not a url\n');
    const bad = await loadConfig({ dataDir }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ConfigError);
    expect((bad as ConfigError).problems).toEqual([expect.stringMatching(/takedown\.yaml:2 publicUrl: "not a url" is not valid/)]);
    writeFileSync(join(dataDir, 'takedown.yaml'), 'sender: typo\n');
    expect(((await loadConfig({ dataDir }).catch((e: unknown) => e)) as ConfigError).problems[0]).toMatch(/unknown key sender \(known: organisation, senderName/);
    const env = await loadConfig({ dataDir: makeDataDir(), env: { TAKEDOWN_MAX_MESSAGE_BYTES: 'lots' } }).catch((e: unknown) => e);
    expect((env as ConfigError).problems[0]).toMatch(/^TAKEDOWN_MAX_MESSAGE_BYTES="lots" is not valid/);
  });

  it('are each in the README\'s one table, with their variable', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const missing = SETTINGS.filter((spec) => !readme.includes(`| \`${spec.key}\` | \`${spec.env[0]}\``)).map((spec) => spec.key);
    expect(missing).toEqual([]);
  });

  it('name what real use still needs: the demo sender, example domains, a public URL on this machine, no relay', () => {
    expect(realUseGaps({}).map((g) => g.key)).toEqual(['organisation', 'senderName', 'fromAddress', 'replyMailbox', 'publicUrl', 'smtpUrl', 'directory', 'rdap']);
    expect(realUseGaps({ publicUrl: 'http://127.0.0.1:8787', mailAuth: 'off' }).find((g) => g.key === 'publicUrl')?.problem).toMatch(/on this machine/);
    expect(realUseGaps({ mailAuth: 'off' }).map((g) => g.key)).toContain('mailAuth');
  });
});

describe('takedown config check', () => {
  it('prints every setting with where it came from, masks the relay password, and exits 1 while real use needs something', async () => {
    const demo = await runCli(['config', 'check', '--data-dir', makeDataDir()]);
    expect(demo.code).toBe(1);
    expect(demo.stdout).toMatch(/publicUrl: not set: answer links and the webhook URL point at this machine/);
    expect(demo.stdout).toMatch(/senderName: the demo sender name/);

    const dataDir = makeDataDir();
    writeFileSync(join(dataDir, 'takedown.yaml'), REAL);
    const real = await runCli(['config', 'check', '--data-dir', dataDir], { TAKEDOWN_SEND_PER_DOMAIN_PER_MINUTE: '30' });
    expect(real.code, real.stdout + real.stderr).toBe(0);
    expect(real.stdout).toMatch(/senderName\s+CERT-XY takedown desk\s+file .*takedown\.yaml\s+TAKEDOWN_SENDER_NAME/);
    expect(real.stdout).toMatch(/sendPerDomainPerMinute\s+30\s+env TAKEDOWN_SEND_PER_DOMAIN_PER_MINUTE/);
    expect(real.stdout).toContain('smtp://mailer:***@relay.cert-xy.org:587');
    expect(real.stdout).not.toContain('s3cret');
    expect(real.stdout).toContain('ready for real use');

    const other = join(makeDataDir(), 'elsewhere.yaml');
    writeFileSync(other, 'timeScale: fast\n');
    const refused = await runCli(['config', 'check', '--config', other]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/elsewhere\.yaml:1 timeScale: "fast" is not valid/);
  });
});

describe('a command run while no host serves', () => {
  it('composes with the settings the last serve ran with: its sender name and the public URL of its links', async () => {
    const host = await testHost(1, { config: { senderName: 'CERT-XY takedown desk', organisation: 'CERT-XY', publicUrl: 'https://takedown.cert-xy.org' } });
    const dataDir = host.files.dataDir;
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server']);
    const notice = await waitFor('the notice', async () => {
      const [n] = (await host.store.listNotices({ campaignId })).items;
      return n?.state === 'sent' && n.taskToken !== undefined && n;
    });
    await api(host, 'POST', `/notices/${notice.id}/answers`, { intent: 'needs-info', note: 'which path?' });
    await host.close();
    expect(JSON.parse(readFileSync(join(dataDir, 'settings.served.json'), 'utf8'))).toMatchObject({ senderName: 'CERT-XY takedown desk', publicUrl: 'https://takedown.cert-xy.org' });

    // no flag, no variable, no takedown.yaml: only what the serve recorded
    const res = await runCli(['followup', notice.id, '--message', 'The path is /gate.php.', '--data-dir', dataDir]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('nothing was sent');
    const store = new SqliteStore(join(dataDir, 'takedown.db'));
    try {
      const followup = (await store.listOutbound(notice.id)).find((m) => m.kind === 'followup')!;
      const messages = openMessageStore({ messages: join(dataDir, 'messages') });
      const raw = (await messages.get(followup.parts![0]!.rawKey))!;
      messages.close();
      expect(raw).toContain('CERT-XY takedown desk');
    } finally {
      store.close();
    }
  });
});
