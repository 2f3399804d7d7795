import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { program } from '../../lib/local/cli/main.js';
import { startMispStandin, type MispStandin } from '../support/misp-standin.js';
import { startTaxiiStandin, TAXII_COLLECTION, type TaxiiStandin } from '../support/taxii-standin.js';
import { makeDataDir, removeDataDirs, runCli } from './support.js';

/*
 * The feed and export commands as a coordinator types them, each a `takedown` process of its own, against the
 * MISP and TAXII stand-ins on loopback: a campaign read from MISP and written back to it, one read from TAXII,
 * the feeds watched once, the campaign exported; and the mistakes a user makes, each named.
 */

let misp: MispStandin;
let taxii: TaxiiStandin;
let dataDir: string;
let env: NodeJS.ProcessEnv;
let campaignId = '';

beforeAll(async () => {
  misp = await startMispStandin({ events: ['event-1337.json', 'event-1338.json'] });
  taxii = await startTaxiiStandin();
  dataDir = makeDataDir();
  env = { TAKEDOWN_MISP_KEY: misp.key, TAKEDOWN_TAXII_PASSWORD: 'correct horse battery staple' };
});

afterAll(async () => {
  await misp?.close();
  await taxii?.close();
  removeDataDirs();
});

describe('takedown run --from-misp and misp sync', () => {
  it('runs a campaign from a MISP event and writes its outcome back as tags', async () => {
    const run = await runCli(['run', '--from-misp', misp.url, '--event', '1337', '--yes', '--data-dir', dataDir], env);
    expect(run.stderr).toContain('read 3 indicators from misp:127.0.0.1');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/notices sent:\s+2/);
    campaignId = /campaign:\s+(cmp_[a-z0-9]{16})/.exec(run.stdout)![1]!;

    const sync = await runCli(['misp', 'sync', campaignId, '--data-dir', dataDir], env);
    expect(sync.code).toBe(0);
    expect(sync.stdout).toMatch(/tags attached:\s+5/);
    expect(misp.tagsOf('a1f4c2e0-6d3b-4b8e-9f21-7c5d3e2a4101').sort()).toEqual(['takedown:notified="registrar"', 'takedown:state="notified"']);
    expect(misp.violations).toEqual([]);
  });

  it('exports the campaign as a workbook and as a MISP event', async () => {
    const out = join(dataDir, 'campaign.xlsx');
    const xlsx = await runCli(['export', campaignId, '--format', 'xlsx', '--out', out, '--data-dir', dataDir]);
    expect(xlsx.code).toBe(0);
    const book = new ExcelJS.Workbook();
    await book.xlsx.readFile(out);
    expect(book.worksheets[0]!.rowCount).toBe(4);
    const event = await runCli(['export', campaignId, '--format', 'misp', '--data-dir', dataDir]);
    expect((JSON.parse(event.stdout) as { Event: { Attribute: unknown[] } }).Event.Attribute).toHaveLength(3);
  });

  it('names the mistakes: no source, two sources, no key, an unknown event', async () => {
    const none = await runCli(['run', '--data-dir', dataDir]);
    expect([none.code, none.stderr.trim()]).toEqual([2, 'takedown: give a campaign file, or --from-misp <url> --event <id>, or --from-taxii <url> --collection <id>']);
    const both = await runCli(['run', 'examples/campaign.csv', '--from-misp', misp.url, '--data-dir', dataDir]);
    expect(both.code).toBe(2);
    const keyless = await runCli(['run', '--from-misp', misp.url, '--event', '1337', '--data-dir', dataDir]);
    expect(keyless.stderr).toContain('no MISP API key: set TAKEDOWN_MISP_KEY');
    const unknown = await runCli(['run', '--from-misp', misp.url, '--event', '9999', '--data-dir', dataDir], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/answered 404: Invalid event/);
    expect(unknown.stderr).not.toContain(misp.key);
  });
});

describe('takedown run --from-taxii and watch', () => {
  it('runs a campaign from a TAXII collection', async () => {
    const run = await runCli(['run', '--from-taxii', taxii.url, '--collection', TAXII_COLLECTION, '--added-after', '2026-11-21T00:00:00Z', '--taxii-user', 'analyst', '--yes', '--data-dir', dataDir], env);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('read 5 STIX objects from 127.0.0.1');
    expect(taxii.violations).toEqual([]);
  });

  it('watches the feeds once: the MISP event already run is not a new campaign, the next one waits for approval', async () => {
    const file = join(dataDir, 'feeds.yaml');
    writeFileSync(file, `feeds:\n  - name: vendor-misp\n    misp:\n      url: ${misp.url}\n      search: tags=operation:africa-cyber-surge\n`);
    const watch = await runCli(['watch', '--config', file, '--once', '--data-dir', dataDir], env);
    expect(watch.code).toBe(0);
    expect(watch.stdout).toMatch(/vendor-misp\s+2\s+cmp_[a-z0-9]{16}\s+waits for approval\s+2/);
    expect(existsSync(join(dataDir, 'host.json'))).toBe(false);
  });
});

describe('every command', () => {
  it('has help text: a description, and one for each argument and option', () => {
    const walk = (cmd: Command, path: string[]): string[] =>
      cmd.commands.flatMap((sub) => {
        const here = [...path, sub.name()];
        const missing = [
          ...(sub.description() ? [] : [`${here.join(' ')}: no description`]),
          ...sub.options.filter((o) => !o.description).map((o) => `${here.join(' ')} ${o.flags}: no description`),
          ...sub.registeredArguments.filter((a) => !a.description).map((a) => `${here.join(' ')} <${a.name()}>: no description`),
        ];
        return [...missing, ...walk(sub, here)];
      });
    const prog = program();
    expect(walk(prog, [])).toEqual([]);
    for (const name of ['export', 'watch', 'misp', 'taxii']) expect(prog.commands.map((c) => c.name())).toContain(name);
    const run = prog.commands.find((c) => c.name() === 'run')!;
    expect(run.options.map((o) => o.long)).toEqual(expect.arrayContaining(['--from-misp', '--event', '--misp-search', '--from-taxii', '--collection', '--added-after']));
  });
});
