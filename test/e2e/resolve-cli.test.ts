import { LOCAL_KEY_NAME } from '../../lib/local/keys.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { LocalRdapServer } from '../../lib/adapters/rdap/local-server.js';
import { startCorpusServer } from '../support/rdap.js';
import { REPO_ROOT, makeDataDir, removeDataDirs, runCli } from './support.js';

/*
 * `takedown resolve`, `takedown contacts override` and a routing policy file, through the real CLI. The default
 * resolver is the embedded host's own: a local RDAP server with the demo answers, no network.
 */

const takedown = runCli;

interface Resolved {
  indicator: string;
  country?: string;
  asn?: string;
  parties: Record<string, { email: string; contactSource: string; id: string; phone?: string }>;
  ladder: { party: { kind: string; email: string }; answerDeadline: number; actionDeadline: number; reminders: number }[];
  problems: { party: string; reason: string }[];
}

let corpus: LocalRdapServer | undefined;
afterAll(async () => {
  await corpus?.close();
  removeDataDirs();
});

describe('takedown resolve', () => {
  it('prints each indicator\'s parties, contacts, their sources and the ladder, as JSON for machines', async () => {
    const dataDir = makeDataDir();
    const res = await takedown(['resolve', '192.0.2.10', '3fff:100::5', '3fff:200::9', 'hxxps://login.example[.]net/verify', '--json', '--data-dir', dataDir]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const [inDirectory, c2, noAbuse, phish] = JSON.parse(res.stdout) as Resolved[];

    expect(inDirectory?.parties.hosting).toMatchObject({ email: 'abuse@hosting.example', contactSource: 'directory' });
    expect(inDirectory?.ladder.map((s) => s.party.kind)).toStrictEqual(['hosting', 'cert']);

    expect(c2?.parties.hosting).toMatchObject({ id: 'hosting:3fff:100::/32', email: 'abuse@rdap-only.example', contactSource: 'rdap' });
    expect(c2?.parties.upstream).toMatchObject({ id: 'upstream:AS64503', email: 'abuse@transit-gh.example', contactSource: 'rdap' });
    expect(c2?.ladder.map((s) => [s.party.kind, s.answerDeadline / 3600])).toStrictEqual([['hosting', 24], ['upstream', 48], ['cert', 72]]);
    expect(Object.keys(c2!.ladder[0]!).sort()).toStrictEqual(['actionDeadline', 'answerDeadline', 'party', 'reminders']);

    expect(noAbuse?.parties.hosting).toMatchObject({ email: 'abuse@noabuse-hosting.example', contactSource: 'abuse@' });
    expect(noAbuse?.problems[0]?.reason).toMatch(/guessed abuse@noabuse-hosting.example/);

    expect(phish?.parties.registrar).toMatchObject({ email: 'abuse@registrar.example', contactSource: 'rdap', phone: '+1.5555550100' });
  });

  it('asks another RDAP service named by --rdap-bootstrap', async () => {
    corpus = await startCorpusServer();
    const res = await takedown(['resolve', '62.239.237.1', 'shop.home.moscow', '--rdap-bootstrap', corpus.bootstrapUrl, '--json', '--data-dir', makeDataDir()]);
    expect(res.code).toBe(0);
    const [bt, moscow] = JSON.parse(res.stdout) as Resolved[];
    expect(bt?.parties.hosting).toMatchObject({ email: 'zzdnsr@bt.com', contactSource: 'rdap', id: 'hosting:62.239.237.0/24' });
    expect(moscow?.parties.registrar).toMatchObject({ email: 'abuse@reg.ru', id: 'registrar:iana:1606' });
    expect(corpus.requests).toContain('/ip/62.239.237.1');
  });

  it('refuses arguments that are not indicators, naming each', async () => {
    const res = await takedown(['resolve', '192.0.2.10', '192.0.2.300', '--data-dir', makeDataDir()]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/argument 2: an IPv4 part is over 255/);
  });

  it('follows a routing policy file, and refuses an invalid one naming the bad field', async () => {
    const dir = makeDataDir();
    const good = join(dir, 'routing.yaml');
    writeFileSync(good, 'rules:\n  - when: { kind: ip, country: KE }\n    ladder:\n      - { party: cert, answerDeadline: 12h }\n      - { party: hosting }\n  - ladder: [{ party: hosting }]\n');
    const res = await takedown(['resolve', '192.0.2.10', '--routing', good, '--json', '--data-dir', dir]);
    expect(res.code).toBe(0);
    const [r] = JSON.parse(res.stdout) as Resolved[];
    expect(r?.ladder.map((s) => [s.party.kind, s.answerDeadline / 3600])).toStrictEqual([['cert', 12], ['hosting', 24]]);

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'rules:\n  - ladder: [{ party: isp }]\n');
    const refused = await takedown(['resolve', '192.0.2.10', '--routing', bad, '--data-dir', dir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/the routing policy has invalid entries/);
    expect(refused.stderr).toMatch(/rules\[0\]\.ladder\[0\]\.party/);
  });
});

describe('takedown contacts override', () => {
  it('records an audited correction that wins over the directory from then on, in routing too', async () => {
    const dataDir = makeDataDir();
    const set = await takedown(['contacts', 'override', '192.0.2.0/24', 'abuse-desk@hosting.example', '--note', 'confirmed by phone', '--as', 'lead', '--data-dir', dataDir]);
    expect(set.stderr).toBe('');
    expect(set.stdout).toMatch(/recorded: 192.0.2.0\/24 \(network\) -> abuse-desk@hosting.example/);

    const resolved = await takedown(['resolve', '192.0.2.10', '--json', '--data-dir', dataDir]);
    const [r] = JSON.parse(resolved.stdout) as Resolved[];
    expect(r?.parties.hosting).toMatchObject({ email: 'abuse-desk@hosting.example', contactSource: 'override', id: 'hosting:192.0.2.0/24' });

    const run = await takedown(['run', 'examples/campaign.csv', '--yes', '--data-dir', dataDir]);
    expect(run.code).toBe(0);
    const db = new Database(join(dataDir, 'takedown.db'), { readonly: true });
    try {
      const recipients = db.prepare("SELECT json_extract(data, '$.party.email') AS email, json_extract(data, '$.party.contactSource') AS source FROM notices").all() as { email: string; source: string }[];
      expect(recipients).toContainEqual({ email: 'abuse-desk@hosting.example', source: 'override' });
      expect(recipients.map((n) => n.email)).not.toContain('abuse@hosting.example');
      const audit = db.prepare("SELECT data FROM events WHERE campaign_id = 'directory'").all() as { data: string }[];
      expect(audit.map((e) => JSON.parse(e.data) as { type: string; actor: string; data: Record<string, unknown> })).toMatchObject([
        // the CLI's user made the correction; whom it was made for (--as) is recorded beside it
        { type: 'contact.overridden', actor: LOCAL_KEY_NAME, data: { target: '192.0.2.0/24', targetKind: 'network', email: 'abuse-desk@hosting.example', note: 'for lead: confirmed by phone' } },
      ]);
    } finally {
      db.close();
    }
  });

  it('refuses a target that is not a network, domain or party, and stores nothing', async () => {
    const dataDir = makeDataDir();
    const res = await takedown(['contacts', 'override', '192.0.2.7/24', 'abuse@x.example', '--data-dir', dataDir]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/target: the address has bits set beyond the prefix length/);
    const list = await takedown(['contacts', 'list', '--data-dir', dataDir]);
    expect(list.stdout.trim()).toBe('no contact overrides');
  });
});
