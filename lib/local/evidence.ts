import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { campaignChain, canonicalize, chainOrder, verifyChains, type AuditReport, type ChainHead } from '../core/audit/index.js';
import { maskTokens } from '../core/notices/index.js';
import type { AuditEvent, Campaign, Outbound } from '../core/model.js';
import type { MessageStore, Store } from '../core/ports.js';

/**
 * The evidence pack: a campaign's audit trail as a directory an auditor can check without the database.
 *
 *   events.jsonl           every event, one RFC 8785 canonical JSON per line, chain by chain in slot order
 *   messages/out/<id>.eml  the exact bytes of every outbound message of the campaign's notices
 *   messages/in/<sha>.eml  the exact bytes of every inbound message the host kept that an event cites
 *   manifest.json          campaign, export time, tool version, counts, sha-256 of every file, chain heads
 *
 * `verifyEvidencePack` recomputes the file hashes, every chain (its heads must be the manifest's), and checks
 * that each message file is the one its citing event hashed.
 */

export const PACK_FORMAT = 'takedown-evidence-pack/1';

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

const PackFile = z.object({
  /** relative to the pack, `/`-separated */
  path: z.string().min(1),
  bytes: z.number().int().min(0),
  sha256: Sha256,
  /** the event whose data holds this file's hash, and under which field */
  cites: z.object({ event: z.string(), field: z.enum(['sha256', 'maskedSha256', 'messageSha256']) }).optional(),
});
export type PackFile = z.infer<typeof PackFile>;

export const PackManifest = z.object({
  format: z.literal(PACK_FORMAT),
  campaign: z.object({
    id: z.string().min(1),
    name: z.string().optional(),
    /** the campaign's marking: the pack carries the same */
    tlp: z.string().optional(),
    submitter: z.string().optional(),
    createdAt: z.string().optional(),
  }),
  exportedAt: z.string(),
  tool: z.object({ name: z.string(), version: z.string() }),
  counts: z.object({
    events: z.number().int().min(0),
    chains: z.number().int().min(0),
    outboundMessages: z.number().int().min(0),
    inboundMessages: z.number().int().min(0),
  }),
  files: z.array(PackFile),
  /** the head (last seq and its hash) of every chain in events.jsonl */
  chains: z.record(z.string(), z.object({ seq: z.number().int().min(0), hash: Sha256 })),
  /** messages an event cites that could not be put in the pack, and why */
  missing: z.array(z.object({ sha256: z.string(), event: z.string(), reason: z.string() })),
});
export type PackManifest = z.infer<typeof PackManifest>;

export interface ExportInput {
  readonly store: Store;
  /** where the messages we sent are kept (the masked copies) */
  readonly messages: MessageStore;
  /** the host's data directory: inbound `rawRef`s are relative to it */
  readonly dataDir: string;
  readonly campaignId: string;
  /** the campaign record, when there is one (the contact directory's trail has none) */
  readonly campaign?: Campaign;
  readonly outDir: string;
  readonly exportedAt: Date;
  readonly toolVersion: string;
  /** chains written so far and the total */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Write the evidence pack of one campaign into `outDir` (created; must be empty or absent). Returns its manifest. */
export async function exportEvidencePack(input: ExportInput): Promise<PackManifest> {
  const { store, campaignId, outDir } = input;
  mkdirSync(join(outDir, 'messages', 'out'), { recursive: true });
  mkdirSync(join(outDir, 'messages', 'in'), { recursive: true });
  const files: PackFile[] = [];
  const missing: PackManifest['missing'] = [];
  const heads: Record<string, ChainHead> = {};
  /** event ids by what they cite: message.sent by outbound id, inbound ones by the message's hash */
  const sentBy = new Map<string, AuditEvent>();
  const inbound = new Map<string, { event: AuditEvent; rawRef?: string }>();

  const root = campaignChain(campaignId);
  const chains = chainOrder([...new Set([root, ...(await store.listChains(campaignId))])]);
  const eventsPath = join(outDir, 'events.jsonl');
  const hash = createHash('sha256');
  let bytes = 0;
  let events = 0;
  let written = 0;
  const fd = openSync(eventsPath, 'wx');
  try {
    for (const chain of chains) {
      const list = await store.listChain(chain);
      if (list.length === 0) continue;
      written++;
      const text = list.map((event) => `${canonicalize(event)}\n`).join('');
      const buffer = Buffer.from(text, 'utf8');
      writeSync(fd, buffer);
      hash.update(buffer);
      bytes += buffer.length;
      events += list.length;
      const last = list[list.length - 1]!;
      heads[chain] = { seq: last.seq, hash: last.hash };
      for (const event of list) noteCitations(event, sentBy, inbound);
      input.onProgress?.(written, chains.length);
    }
  } finally {
    closeSync(fd);
  }
  files.push({ path: 'events.jsonl', bytes, sha256: hash.digest('hex') });

  let outboundMessages = 0;
  let after: string | undefined;
  do {
    const page = await store.listNotices({ campaignId }, { after, limit: 500 });
    for (const notice of page.items) {
      for (const message of await store.listOutbound(notice.id)) {
        for (const part of await outboundCopies(input.messages, message)) {
          const path = `messages/out/${safeName(part.name)}.eml`;
          // a copy is masked when it is kept; one kept before that (or never sent) is masked on its way out
          const masked = maskTokens(part.raw).masked;
          const body = Buffer.from(masked, 'utf8');
          writeFileSync(join(outDir, path), body, { flag: 'wx' });
          outboundMessages++;
          const sent = sentBy.get(part.cites);
          const field = part.field === 'sha256' && masked !== part.raw ? undefined : part.field;
          files.push({ path, bytes: body.length, sha256: sha256Of(body), ...(sent && field ? { cites: { event: sent.id, field } } : {}) });
        }
      }
    }
    after = page.next;
  } while (after);

  let inboundMessages = 0;
  for (const [sha256, { event, rawRef }] of inbound) {
    const source = rawRef === undefined ? undefined : insideDir(input.dataDir, rawRef);
    if (source === undefined || !existsSync(source)) {
      missing.push({ sha256, event: event.id, reason: rawRef === undefined ? 'no event says where the host kept it' : 'the host no longer has the file' });
      continue;
    }
    const body = readFileSync(source);
    const actual = sha256Of(body);
    if (actual !== sha256) {
      missing.push({ sha256, event: event.id, reason: `the kept file has another hash (${actual.slice(0, 12)}…): it was changed after it was received` });
      continue;
    }
    const path = `messages/in/${sha256}.eml`;
    writeFileSync(join(outDir, path), body, { flag: 'wx' });
    inboundMessages++;
    files.push({ path, bytes: body.length, sha256, cites: { event: event.id, field: 'messageSha256' } });
  }

  const campaign = input.campaign;
  const manifest: PackManifest = {
    format: PACK_FORMAT,
    campaign: {
      id: campaignId,
      ...(campaign ? { name: campaign.name, tlp: campaign.tlp, submitter: campaign.submitter, createdAt: campaign.createdAt } : {}),
    },
    exportedAt: input.exportedAt.toISOString(),
    tool: { name: 'takedown', version: input.toolVersion },
    counts: { events, chains: written, outboundMessages, inboundMessages },
    files,
    chains: heads,
    missing,
  };
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', { flag: 'wx' });
  return manifest;
}

/** The kept copies of one outbound message: one per part, and the event field that hashed each. */
async function outboundCopies(messages: MessageStore, message: Outbound): Promise<{ name: string; raw: string; cites: string; field: 'sha256' | 'maskedSha256' }[]> {
  if (!message.parts) return message.raw === undefined ? [] : [{ name: message.id, raw: message.raw, cites: message.id, field: 'sha256' }];
  const copies = [];
  for (const part of message.parts) {
    const raw = await messages.get(part.rawKey);
    if (raw === undefined) continue;
    const several = message.parts.length > 1;
    copies.push({
      name: several ? `${message.id}.p${part.index}` : message.id,
      raw,
      cites: several ? `${message.id}#${part.index}` : message.id,
      field: part.maskedSha256 ? ('maskedSha256' as const) : ('sha256' as const),
    });
  }
  return copies;
}

function noteCitations(event: AuditEvent, sentBy: Map<string, AuditEvent>, inbound: Map<string, { event: AuditEvent; rawRef?: string }>): void {
  const data = event.data;
  if (event.type === 'message.sent' && typeof data['outbound'] === 'string' && typeof data['sha256'] === 'string') {
    sentBy.set(typeof data['part'] === 'number' ? `${data['outbound']}#${data['part']}` : data['outbound'], event);
  }
  const sha = data['messageSha256'];
  if (typeof sha === 'string' && /^[0-9a-f]{64}$/.test(sha)) {
    const rawRef = typeof data['rawRef'] === 'string' ? data['rawRef'] : undefined;
    const known = inbound.get(sha);
    // the first event that cites it is the one its file points at; a later one may say where the file is
    if (!known) inbound.set(sha, { event, ...(rawRef ? { rawRef } : {}) });
    else if (known.rawRef === undefined && rawRef) inbound.set(sha, { ...known, rawRef });
  }
}

/** One thing wrong with a pack, beyond its chains. */
export interface PackProblem {
  readonly path: string;
  readonly problem: string;
}

export interface PackReport {
  readonly ok: boolean;
  readonly campaignId?: string;
  /** the chains of events.jsonl, checked against the manifest's heads (and `heads`, when given) */
  readonly chains?: AuditReport;
  /** files whose bytes, presence or listing are wrong, chains whose heads differ from the manifest, messages that are not what their event hashed */
  readonly problems: readonly PackProblem[];
  readonly filesChecked: number;
  readonly messagesChecked: number;
}

/** Verify an evidence pack on its own: manifest, file hashes, chains, and each message against the event citing it. */
export function verifyEvidencePack(dir: string, options: { heads?: Readonly<Record<string, ChainHead>> } = {}): PackReport {
  const problems: PackProblem[] = [];
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) return { ok: false, problems: [{ path: 'manifest.json', problem: 'missing' }], filesChecked: 0, messagesChecked: 0 };
  let manifest: PackManifest;
  try {
    manifest = PackManifest.parse(JSON.parse(readFileSync(manifestPath, 'utf8')));
  } catch {
    return { ok: false, problems: [{ path: 'manifest.json', problem: 'not a manifest of this format' }], filesChecked: 0, messagesChecked: 0 };
  }

  const actual = new Map<string, string>();
  for (const file of manifest.files) {
    const path = insideDir(dir, file.path);
    if (path === undefined) {
      problems.push({ path: file.path, problem: 'points outside the pack' });
    } else if (!existsSync(path) || !statSync(path).isFile()) {
      problems.push({ path: file.path, problem: 'listed in the manifest but missing' });
    } else {
      const body = readFileSync(path);
      const sha = sha256Of(body);
      actual.set(file.path, sha);
      if (sha !== file.sha256 || body.length !== file.bytes) problems.push({ path: file.path, problem: 'its bytes are not the ones the manifest hashed' });
    }
  }
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const path of filesUnder(dir)) {
    if (path !== 'manifest.json' && !listed.has(path)) problems.push({ path, problem: 'not listed in the manifest' });
  }

  const events: unknown[] = [];
  const eventsPath = join(dir, 'events.jsonl');
  if (existsSync(eventsPath)) {
    const lines = readFileSync(eventsPath, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const line of lines) {
      try {
        events.push(JSON.parse(line));
      } catch {
        // kept in its place, so the chains report where the unreadable line is
        events.push(undefined);
      }
    }
  } else if (!listed.has('events.jsonl')) {
    problems.push({ path: 'events.jsonl', problem: 'missing, and not listed in the manifest' });
  }
  const chains = verifyChains(events, { heads: { ...manifest.chains, ...options.heads } });
  for (const chain of new Set([...Object.keys(chains.heads), ...Object.keys(manifest.chains)])) {
    const found = chains.heads[chain];
    const recorded = manifest.chains[chain];
    if (!recorded) problems.push({ path: 'events.jsonl', problem: `chain ${chain} is not in the manifest` });
    else if (found && (found.seq !== recorded.seq || found.hash !== recorded.hash)) {
      problems.push({ path: 'events.jsonl', problem: `chain ${chain} ends at seq ${found.seq}, the manifest says ${recorded.seq}` });
    }
  }

  const byId = new Map<string, Record<string, unknown>>();
  for (const event of events) {
    if (typeof event === 'object' && event !== null && typeof (event as { id?: unknown }).id === 'string') {
      byId.set((event as { id: string }).id, event as Record<string, unknown>);
    }
  }
  let messagesChecked = 0;
  for (const file of manifest.files) {
    if (!file.cites) continue;
    messagesChecked++;
    const event = byId.get(file.cites.event);
    const data = event?.['data'];
    const cited = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[file.cites.field] : undefined;
    const sha = actual.get(file.path);
    if (!event) problems.push({ path: file.path, problem: `the event ${file.cites.event} that cites it is not in events.jsonl` });
    else if (sha !== undefined && cited !== sha) problems.push({ path: file.path, problem: `its bytes are not the message event ${file.cites.event} hashed` });
  }

  return {
    ok: problems.length === 0 && chains.ok,
    campaignId: manifest.campaign.id,
    chains,
    problems,
    filesChecked: manifest.files.length,
    messagesChecked,
  };
}

/** The chain heads an earlier pack's manifest recorded, for a verification that must still find them. */
export function headsOfManifest(path: string): { campaignId: string; heads: Record<string, ChainHead> } {
  const manifest = PackManifest.parse(JSON.parse(readFileSync(path, 'utf8')));
  return { campaignId: manifest.campaign.id, heads: manifest.chains };
}

function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A path relative to `dir` resolved inside it; undefined when it would leave it. */
function insideDir(dir: string, path: string): string | undefined {
  if (isAbsolute(path)) return undefined;
  const base = resolve(dir);
  const full = resolve(base, path);
  return full.startsWith(base + sep) ? full : undefined;
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Every file under `dir`, relative, `/`-separated. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(relative(dir, full).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}
