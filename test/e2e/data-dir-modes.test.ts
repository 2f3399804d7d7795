import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { startHost, type Host } from '../../lib/local/host.js';
import { stubResolver } from '../support/mail-dns.js';
import { outbox, submit, waitFor } from '../workflows/support.js';

/*
 * Nothing in the data directory is for other users of the machine: the database (answers, raw messages, the
 * trail), the outbox and inbox, the keys, the clock, host.json. Checked on a running host that sent a notice and
 * received a reply, under the usual umask 022, and on a directory an older version left open.
 */

let host: Host | undefined;
let dir: string | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Every entry under `root` whose mode lets its group or others in, as `path mode`. */
function openToOthers(root: string): string[] {
  const found: string[] = [];
  const walk = (path: string): void => {
    const info = lstatSync(path);
    if (info.isSymbolicLink()) return;
    if ((info.mode & 0o077) !== 0) found.push(`${path.slice(root.length) || '/'} ${(info.mode & 0o777).toString(8)}`);
    if (info.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(root);
  return found;
}

async function start(dataDir: string): Promise<Host> {
  return startHost({ dataDir, timeScale: 1, httpPort: 0, smtpPort: 0, logLevel: 'silent', probes: 'off' }, { listen: true, mailAuthResolver: stubResolver({}) });
}

describe('the data directory', () => {
  it('is 0700 with every file in it 0600 while the host runs, under umask 022', async () => {
    const previous = process.umask(0o022);
    try {
      dir = mkdtempSync(join(tmpdir(), 'takedown-modes-'));
      const dataDir = join(dir, 'data');
      host = await start(dataDir);
      const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server']);
      await waitFor('the notice in the outbox', async () => ((await host!.store.listNotices({ campaignId })).items[0]?.state === 'sent' ? true : undefined));
      const sent = outbox(host)[0]!;
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: host.smtpPort, secure: false, ignoreTLS: true });
      await transport.sendMail({ envelope: { from: 'abuse@hosting.example', to: [sent.header('Reply-To')!] }, raw: `From: abuse@hosting.example\r\nSubject: Re: x\r\n\r\nThanks, we are looking into it.\r\n` });
      transport.close();

      const names = readdirSync(dataDir);
      expect(names).toEqual(expect.arrayContaining(['takedown.db', 'outbox', 'inbox', 'clock.json', 'host.json', 'api-key', 'audit.key', 'audit-checkpoints.jsonl']));
      expect(readdirSync(join(dataDir, 'inbox'))).toHaveLength(1);
      expect(openToOthers(dataDir)).toEqual([]);
    } finally {
      process.umask(previous);
    }
  });

  it('is closed again at start when an older version left it and its files open', async () => {
    dir = mkdtempSync(join(tmpdir(), 'takedown-modes-'));
    const dataDir = join(dir, 'data');
    mkdirSync(join(dataDir, 'inbox'), { recursive: true, mode: 0o755 });
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'inbox', 'old-reply.eml'), 'From: a@b.example\r\n\r\nhello\r\n', { mode: 0o644 });
    writeFileSync(join(dataDir, 'clock.json'), JSON.stringify({ anchorReal: Date.now(), anchorDomain: Date.now(), scale: 1 }), { mode: 0o644 });

    host = await start(dataDir);
    expect(openToOthers(dataDir)).toEqual([]);
  });
});
