import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, Notice } from '../../lib/core/model.js';
import type { PackManifest } from '../../lib/local/evidence.js';
import type { Host } from '../../lib/local/host.js';
import { outbox, submit, testHost, waitFor } from '../workflows/support.js';
import { runCli } from './support.js';
import { holdsNoToken } from '../../lib/core/notices/index.js';

/*
 * The audit trail of a campaign run by the embedded host (a notice sent, an automatic reply received over SMTP and
 * applied), verified and exported by the CLI a user runs, then tampered with: in the database, and in the pack.
 */

const takedown = runCli;
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

let host: Host | undefined;
let dataDir: string;
let work: string;
let campaignId: string;
let notice: Notice;
let pack: string;

async function deliver(h: Host, raw: string, rcpt: string): Promise<void> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: h.smtpPort, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({ envelope: { from: 'abuse@hosting.example', to: [rcpt] }, raw: raw.replace(/\r?\n/g, '\r\n') });
  } finally {
    transport.close();
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'takedown-audit-cli-'));
  const started = await testHost(1);
  host = started;
  dataDir = started.files.dataDir;
  campaignId = await submit(started, ['192.0.2.10,ip,KE,C2 server']);
  notice = await waitFor('the notice to be sent', async () => {
    const [n] = (await started.store.listNotices({ campaignId })).items;
    return n?.state === 'sent' && n;
  });
  await waitFor('the workflow to wait for an answer', async () => (await started.store.getNotice(notice.id))?.taskToken !== undefined);
  const sent = outbox(started)[0]!;
  await deliver(
    started,
    [
      'From: Abuse Desk <abuse@hosting.example>',
      `To: ${sent.header('Reply-To')}`,
      `Subject: [Ticket#778812] received: ${sent.header('Subject')}`,
      'Message-ID: <auto-1@hosting.example>',
      `In-Reply-To: ${sent.header('Message-ID')}`,
      'Auto-Submitted: auto-replied',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Your report has been received as ticket 778812. Our team will look at it.',
      '',
    ].join('\n'),
    sent.header('Reply-To')!,
  );
  await waitFor('the answer to be applied', async () => (await started.store.listEvents({ noticeId: notice.id })).some((e) => e.type === 'answer.applied'));
  // the CLI reads the data directory on its own, as it would after the host stopped
  await started.close();
  host = undefined;
}, 60_000);

afterAll(async () => {
  await host?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

function events(file = join(dataDir, 'takedown.db')): AuditEvent[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare<[string], { data: string }>('SELECT data FROM events WHERE campaign_id = ? ORDER BY seq').all(campaignId).map((r) => JSON.parse(r.data) as AuditEvent);
  } finally {
    db.close();
  }
}

/** A copy of the exported pack to tamper with. */
function copyOfPack(name: string): string {
  const copy = join(work, name);
  cpSync(pack, copy, { recursive: true });
  return copy;
}

function packLines(dir: string): string[] {
  return readFileSync(join(dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean);
}

function writeLines(dir: string, lines: readonly string[]): void {
  writeFileSync(join(dir, 'events.jsonl'), lines.map((l) => `${l}\n`).join(''));
}

/** Index of the lines of the notice's chain in the pack. */
function noticeLines(lines: readonly string[]): number[] {
  return lines.flatMap((line, i) => ((JSON.parse(line) as AuditEvent).chain === `notice:${notice.id}` ? [i] : []));
}

describe('takedown audit', () => {
  it('records the sent notice with the hash of its exact bytes and the reply with the hash of the file the host kept', () => {
    const all = events();
    const sent = all.find((e) => e.type === 'message.sent')!;
    const outboxFile = readdirSync(join(dataDir, 'outbox')).find((f) => f.endsWith('.eml'))!;
    expect(sent.data['sha256']).toBe(sha256(readFileSync(join(dataDir, 'outbox', outboxFile))));

    const received = all.find((e) => e.type === 'mail.received')!;
    expect(received).toMatchObject({ noticeId: notice.id, chain: `notice:${notice.id}`, data: { matchedBy: 'token', class: 'auto-reply' } });
    expect(received.data['messageSha256']).toBe(sha256(readFileSync(join(dataDir, String(received.data['rawRef'])))));
  });

  it('verifies every trail of the data directory: exit 0 and each campaign valid', async () => {
    const res = await takedown(['audit', 'verify', '--data-dir', dataDir, '--json']);

    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout) as { ok: boolean; campaigns: { campaignId: string; ok: boolean; chains: number; events: number }[] };
    expect(report.ok).toBe(true);
    expect(report.campaigns.find((c) => c.campaignId === campaignId)).toMatchObject({ ok: true, events: events().length });
  });

  it('exports a pack with the events, both messages and a manifest, that verifies without the database', async () => {
    pack = join(work, 'pack');
    const exported = await takedown(['audit', 'export', campaignId, '--data-dir', dataDir, '--out', pack, '--json']);
    expect(exported.code, exported.stderr).toBe(0);

    const manifest = JSON.parse(readFileSync(join(pack, 'manifest.json'), 'utf8')) as PackManifest;
    expect(manifest).toMatchObject({ format: 'takedown-evidence-pack/1', campaign: { id: campaignId, tlp: expect.any(String) }, counts: { outboundMessages: 1, inboundMessages: 1 }, missing: [] });
    expect(packLines(pack)).toHaveLength(events().length);
    expect(manifest.files.filter((f) => f.cites).map((f) => f.cites!.field).sort()).toEqual(['maskedSha256', 'messageSha256']);
    // the pack holds the copy we keep, its tokens masked: it is the one its event hashed as kept, beside the hash
    // of the bytes that went out
    const outbound = manifest.files.find((f) => f.path.startsWith('messages/out/'))!;
    const sent = events().find((e) => e.type === 'message.sent')!;
    const copy = readFileSync(join(pack, outbound.path));
    expect(sha256(copy)).toBe(sent.data['maskedSha256']);
    expect(sent.data['sha256']).not.toBe(sent.data['maskedSha256']);
    expect(holdsNoToken(copy.toString('utf8'))).toBe(true);

    // the auditor's copy: the database is nowhere near it
    const verified = await takedown(['audit', 'verify', '--pack', pack, '--json']);
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, campaignId, problems: [], messagesChecked: 2 });
  });

  it('finds one byte flipped in one event of the pack: a hash mismatch, and the file no longer the one listed', async () => {
    const dir = copyOfPack('flipped');
    const lines = packLines(dir);
    const i = noticeLines(lines)[1]!;
    const at = lines[i]!.indexOf('"type":"') + 9;
    lines[i] = lines[i]!.slice(0, at) + String.fromCharCode(lines[i]!.charCodeAt(at) ^ 1) + lines[i]!.slice(at + 1);
    writeLines(dir, lines);

    const res = await takedown(['audit', 'verify', '--pack', dir, '--json']);

    expect(res.code).toBe(1);
    const report = JSON.parse(res.stdout);
    expect(report.chains.broken).toMatchObject({ chain: `notice:${notice.id}`, seq: 1, kind: 'hash-mismatch' });
    expect(report.problems).toContainEqual({ path: 'events.jsonl', problem: expect.stringContaining('not the ones the manifest hashed') });
  });

  it('finds one event deleted from the pack and two events swapped in it', async () => {
    const deleted = copyOfPack('deleted');
    const lines = packLines(deleted);
    const [, second, third] = noticeLines(lines);
    writeLines(deleted, lines.filter((_, i) => i !== second));
    const swapped = copyOfPack('swapped');
    const reordered = [...lines];
    [reordered[second!], reordered[third!]] = [lines[third!]!, lines[second!]!];
    writeLines(swapped, reordered);

    const [gone, moved] = await Promise.all([takedown(['audit', 'verify', '--pack', deleted, '--json']), takedown(['audit', 'verify', '--pack', swapped, '--json'])]);

    expect(gone.code).toBe(1);
    expect(JSON.parse(gone.stdout).chains.broken).toMatchObject({ chain: `notice:${notice.id}`, seq: 1, kind: 'missing-seq' });
    expect(moved.code).toBe(1);
    expect(JSON.parse(moved.stdout).chains.broken).toMatchObject({ chain: `notice:${notice.id}`, seq: 1, kind: 'reordered' });
  });

  it('finds a message file replaced even when the manifest was rewritten to match it', async () => {
    const dir = copyOfPack('message');
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as PackManifest;
    const file = manifest.files.find((f) => f.path.startsWith('messages/out/'))!;
    const forged = readFileSync(join(dir, file.path), 'utf8').replace('192.0.2.10', '192.0.2.11');
    writeFileSync(join(dir, file.path), forged);
    Object.assign(file, { sha256: sha256(forged), bytes: Buffer.byteLength(forged) });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));

    const res = await takedown(['audit', 'verify', '--pack', dir, '--json']);

    expect(res.code).toBe(1);
    const report = JSON.parse(res.stdout);
    expect(report.chains.ok).toBe(true);
    expect(report.problems).toEqual([{ path: file.path, problem: expect.stringContaining('not the message event') }]);
  });

  it('finds a byte flipped in the database, and a cut-off tail against the checkpoints and against an earlier export', async () => {
    const copy = join(work, 'db-copy');
    cpSync(dataDir, copy, { recursive: true });
    const file = join(copy, 'takedown.db');
    const db = new Database(file);
    const tail = events(file).filter((e) => e.chain === `notice:${notice.id}`).at(-1)!;
    db.prepare('DELETE FROM events WHERE id = ?').run(tail.id);
    db.close();

    const alone = await takedown(['audit', 'verify', campaignId, '--data-dir', copy]);
    const against = await takedown(['audit', 'verify', campaignId, '--data-dir', copy, '--against', join(pack, 'manifest.json'), '--json']);

    // every remaining link holds: the head the host checkpointed when it stopped (or the pack recorded) shows the loss
    expect(alone.code, alone.stderr).toBe(1);
    expect(alone.stdout).toContain(`truncated at notice:${notice.id}`);
    expect(alone.stderr).toContain(`chain notice:${notice.id} (truncated)`);
    expect(against.code).toBe(1);
    expect(JSON.parse(against.stdout).campaigns[0].broken).toMatchObject({ chain: `notice:${notice.id}`, kind: 'truncated' });

    const flip = new Database(file);
    const row = flip.prepare<[string, string], { data: string }>("SELECT data FROM events WHERE campaign_id = ? AND chain = ? ORDER BY chain_seq LIMIT 1").get(campaignId, `campaign:${campaignId}`)!;
    flip.prepare('UPDATE events SET data = ? WHERE data = ?').run(row.data.replace('"actor":"', '"actor":"X'), row.data);
    flip.close();
    const flipped = await takedown(['audit', 'verify', campaignId, '--data-dir', copy]);
    expect(flipped.code).toBe(1);
    expect(flipped.stdout).toContain(`BROKEN`);
    expect(flipped.stdout).toContain(`hash-mismatch at campaign:${campaignId} seq 0`);
  });

  it('refuses an unknown campaign, a missing pack and a non-empty output directory with exit 2', async () => {
    const results = await Promise.all([
      takedown(['audit', 'verify', 'cmp_nosuch', '--data-dir', dataDir]),
      takedown(['audit', 'verify', '--pack', join(work, 'nothing-here')]),
      takedown(['audit', 'export', campaignId, '--data-dir', dataDir, '--out', pack]),
    ]);

    expect(results.map((r) => r.code)).toEqual([2, 2, 2]);
    expect(existsSync(join(work, 'nothing-here'))).toBe(false);
  });
});
