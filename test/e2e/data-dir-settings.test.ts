import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { startCaptureServer, type CaptureServer } from '../../lib/adapters/mail/capture-server.js';
import { startDnsStub, type DnsStub } from '../../lib/adapters/probe/dns-stub.js';
import { hostConfig } from '../../lib/local/cli/shared/options.js';
import { startHost, type Host } from '../../lib/local/host.js';
import { dkimRecords, dkimSigner } from '../support/dkim.js';
import { submit, waitFor } from '../workflows/support.js';

/*
 * The settings a data directory keeps (takedown.yaml) are read by every process that opens it through the CLI:
 * `serve`, a command run while no host serves, a `run` from another shell. The chaos run (npm run chaos) starts
 * each of them with no TAKEDOWN_* variable and no SMTP_URL, as an operator's other shell would, and counts what
 * reaches anything but the configured relay. (Layering and refusals: config-cli.test.ts.)
 */

let host: Host | undefined;
let relay: CaptureServer | undefined;
let dns: DnsStub | undefined;
let dir: string;
afterEach(async () => {
  await host?.close();
  await relay?.close();
  await dns?.close();
  host = relay = dns = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function settings(dataDir: string, values: Record<string, unknown>): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // JSON is YAML: the chaos run writes its settings the same way
  writeFileSync(join(dataDir, 'takedown.yaml'), JSON.stringify(values));
}

/** The host a CLI command starts on the data directory: its settings as `hostConfig` layers them. */
async function cliHost(dataDir: string): Promise<Host> {
  return startHost(await hostConfig({ dataDir }, { httpPort: 0, smtpPort: 0, logLevel: 'silent' }), { listen: true });
}

function eml(path: string): string[] {
  try {
    return readdirSync(path).filter((f) => f.endsWith('.eml'));
  } catch {
    return [];
  }
}

describe("the data directory's settings", () => {
  it('send through the relay they name, though the process was told nothing of it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'takedown-settings-'));
    const dataDir = join(dir, 'data');
    relay = await startCaptureServer({ dir: join(dir, 'relay') });
    settings(dataDir, { smtpUrl: relay.url, probes: 'off', mailAuth: 'off' });

    host = await cliHost(dataDir);
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server']);
    await waitFor('the notice sent', async () => ((await host!.store.listNotices({ campaignId })).items[0]?.state === 'sent' ? true : undefined));

    expect(host.mailDestination).toBe(relay.url);
    expect(eml(join(dir, 'relay'))).toHaveLength(1);
    expect(eml(host.files.outbox)).toEqual([]);
  });

  it('name the DNS servers mail authentication asks: a reply signed with a key published there is authenticated', async () => {
    dir = mkdtempSync(join(tmpdir(), 'takedown-settings-'));
    const dataDir = join(dir, 'data');
    const [name, record] = Object.entries(dkimRecords('hosting.example'))[0]!;
    dns = await startDnsStub({ [name.replace(/^TXT /, '')]: { TXT: [record[0]!.join('')] } });
    settings(dataDir, { probes: 'off', mailAuth: 'dns', mailDns: [dns.server] });
    host = await cliHost(dataDir);
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server']);
    const notice = await waitFor('the notice sent', async () => {
      const n = (await host!.store.listNotices({ campaignId })).items[0];
      return n?.state === 'sent' ? n : undefined;
    });
    const sent = readdirSync(host.files.outbox).filter((f) => f.endsWith('.eml'));
    expect(sent).toHaveLength(1);
    const raw = readFileSync(join(host.files.outbox, sent[0]!), 'utf8');
    const replyTo = /^Reply-To:\s*(?:.*<)?([^>\s]+)>?\s*$/im.exec(raw)![1]!;

    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: host.smtpPort, secure: false, ignoreTLS: true, dkim: dkimSigner('hosting.example') });
    await transport.sendMail({ envelope: { from: 'abuse@hosting.example', to: [replyTo] }, from: 'abuse@hosting.example', to: replyTo, subject: `Re: [${notice.tag}]`, text: 'We have suspended the server and removed the content. The site is now offline.' });
    transport.close();

    const closed = await waitFor('the answer applied', async () => {
      const n = (await host!.store.getNotice(notice.id))!;
      return n.state === 'closed' ? n : undefined;
    });
    expect(closed.appliedAnswers).toHaveLength(1);
    expect(dns.queries).toContain(`${name.replace(/^TXT /, '')} TXT`);
  });
});
