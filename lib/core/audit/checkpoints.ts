import { z } from 'zod';
import { AlreadyExistsError } from '../errors.js';
import type { AuditKey, CheckpointLog, Clock, Store } from '../ports.js';
import { canonicalize } from './jcs.js';
import { ZERO_HASH } from './events.js';
import { macField, macMatches } from './mac.js';
import { sha256Hex } from './sha256.js';
import type { ChainHead } from './verifier.js';

/**
 * Checkpoints of the audit trail: now and then (on every change of a campaign's state, hourly, at each start of
 * the host) the head of every chain that moved since the last checkpoint is written to write-once storage, as
 * one record of a log that is a hash chain of its own, each record MACed with the audit key. A chain that later
 * ends before a recorded head lost its newest events; a chain recorded that has no event lost them all; a head
 * whose hash differs was rewritten. Between two checkpoints nothing records the newest events: that window is
 * what the checkpoint frequency buys down.
 *
 * The first record of a log written over an existing trail is its baseline: the events it covers were written
 * before the trail was keyed, so they carry no MAC, and only they may lack one.
 */

const Head = z.object({ seq: z.number().int().min(0), hash: z.string().regex(/^[0-9a-f]{64}$/) });

/** One checkpoint as stored. `campaigns` maps campaign id -> chain -> head, for the chains that moved. */
export const CheckpointRecord = z.object({
  v: z.literal(1),
  /** 1, 2, 3 ... with no gap */
  n: z.number().int().min(1),
  at: z.string(),
  reason: z.string().max(300),
  /** set on the first record written over a trail whose events predate the key */
  baseline: z.boolean().optional(),
  campaigns: z.record(z.string(), z.record(z.string(), Head)),
  /** the previous record's hash; ZERO_HASH for the first */
  prev: z.string(),
  /** sha-256 of the record's canonical JSON without `hash` and `mac` */
  hash: z.string(),
  mac: z.string().optional(),
});
export type CheckpointRecord = z.infer<typeof CheckpointRecord>;

/** The heads a log records, per campaign and chain. */
export type RecordedHeads = Record<string, Record<string, ChainHead>>;

/** What a log says once read and checked. */
export interface CheckpointReading {
  readonly ok: boolean;
  readonly records: number;
  /** the first record that is not what it claims, and how */
  readonly broken?: { readonly n: number; readonly detail: string };
  /** the newest head recorded for each chain (from the records up to the first broken one) */
  readonly heads: RecordedHeads;
  /** the baseline's heads: events up to these were written before the trail was keyed */
  readonly baseline: RecordedHeads;
  /** the last record's number and hash */
  readonly last?: { readonly n: number; readonly hash: string; readonly at: string };
  /** the MACs were checked (a key was given) */
  readonly macsChecked: boolean;
}

function recordHash(record: Omit<CheckpointRecord, 'hash' | 'mac'> | CheckpointRecord): string {
  const { hash: _h, mac: _m, ...rest } = record as CheckpointRecord;
  return sha256Hex(canonicalize(rest));
}

function macMessage(hash: string): string {
  return `takedown-audit-checkpoint-v1:${hash}`;
}

/**
 * Read and check a checkpoint log: numbering, each record's hash, the link to the one before, and each MAC when
 * `key` is given. Heads are folded from the records that hold, newest seq winning.
 */
export async function readCheckpoints(stored: readonly unknown[], key?: AuditKey): Promise<CheckpointReading> {
  const heads: RecordedHeads = {};
  let baseline: RecordedHeads = {};
  let prev = ZERO_HASH;
  let last: CheckpointReading['last'];
  const broken = (n: number, detail: string): CheckpointReading => ({ ok: false, records: stored.length, broken: { n, detail }, heads, baseline, ...(last ? { last } : {}), macsChecked: key !== undefined });
  for (let i = 0; i < stored.length; i++) {
    const n = i + 1;
    const parsed = CheckpointRecord.safeParse(stored[i]);
    if (!parsed.success) return broken(n, `checkpoint ${n} is not a checkpoint record`);
    const record = parsed.data;
    if (record.n !== n) return broken(n, `checkpoint ${n} is numbered ${record.n}: a record was removed or inserted`);
    if (recordHash(record) !== record.hash) return broken(n, `checkpoint ${n} does not match its hash: it was altered`);
    if (record.prev !== prev) return broken(n, `checkpoint ${n} does not point at checkpoint ${n - 1}`);
    if (key) {
      const verdict = record.mac === undefined ? 'missing' : await macMatches(key, macMessage(record.hash), record.mac);
      if (verdict !== 'ok') return broken(n, verdict === 'missing' ? `checkpoint ${n} has no MAC` : verdict === 'other-key' ? `checkpoint ${n} is MACed under another key` : `checkpoint ${n}'s MAC does not verify: it was not written with the audit key`);
    }
    if (n === 1 && record.baseline) baseline = structuredClone(record.campaigns);
    for (const [campaignId, chains] of Object.entries(record.campaigns)) {
      const known = (heads[campaignId] ??= {});
      for (const [chain, head] of Object.entries(chains)) if (!known[chain] || known[chain].seq <= head.seq) known[chain] = head;
    }
    prev = record.hash;
    last = { n, hash: record.hash, at: record.at };
  }
  return { ok: true, records: stored.length, heads, baseline, ...(last ? { last } : {}), macsChecked: key !== undefined };
}

/** The head of every chain of a campaign, as the store holds it now. */
export async function chainHeadsOf(store: Pick<Store, 'listChainHeads' | 'listChains' | 'chainHead'>, campaignId: string): Promise<Record<string, ChainHead>> {
  if (store.listChainHeads) return Object.fromEntries((await store.listChainHeads(campaignId)).map((h) => [h.chain, { seq: h.seq, hash: h.hash }]));
  const out: Record<string, ChainHead> = {};
  const chains = await store.listChains(campaignId);
  for (let i = 0; i < chains.length; i += 16) {
    const batch = chains.slice(i, i + 16);
    const found = await Promise.all(batch.map((c) => store.chainHead(c)));
    batch.forEach((c, j) => {
      const head = found[j];
      if (head) out[c] = { seq: head.seq, hash: head.hash };
    });
  }
  return out;
}

/** What a Checkpointer needs. */
export interface CheckpointDeps {
  readonly store: Pick<Store, 'listChainHeads' | 'listChains' | 'chainHead' | 'listCampaigns'>;
  readonly clock: Clock;
  readonly log: CheckpointLog;
  readonly auditKey?: AuditKey;
  /** trails kept under ids that are no campaign's (the contact directory's), checkpointed with every campaign */
  readonly otherTrails?: readonly string[];
}

/**
 * Writes checkpoints to a log, one at a time, remembering the heads it recorded so each record holds only what
 * moved. `open` first: it reads the log (a broken log is reported, and the next record still links to its end).
 */
export class Checkpointer {
  private state?: { heads: RecordedHeads; last?: { n: number; hash: string } };
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: CheckpointDeps) {}

  /**
   * Read the log. An empty log starts with a record of the heads found: the baseline (the events it covers may lack
   * a MAC) only when `baseline` says the key is new; a log that went missing under an existing key must not
   * excuse whatever was written meanwhile.
   */
  async open(options: { baseline: boolean; fromEnd?: boolean } = { baseline: true }): Promise<CheckpointReading> {
    // from the end: only the newest record is read (nothing is checked, `takedown audit verify` does that), and
    // the first record written holds every head of the campaigns it names, since none is known to be recorded
    if (options.fromEnd && this.deps.log.readLast) {
      const end = (await this.deps.log.readLast()) as { n?: unknown; hash?: unknown; at?: unknown } | undefined;
      if (end !== undefined) {
        if (typeof end.n !== 'number' || typeof end.hash !== 'string') throw new Error('the newest checkpoint record has no number and hash');
        this.state = { heads: {}, last: { n: end.n, hash: end.hash } };
        return { ok: true, records: end.n, heads: {}, baseline: {}, last: { n: end.n, hash: end.hash, at: String(end.at ?? '') }, macsChecked: false };
      }
    }
    const stored = await this.deps.log.readAll();
    const reading = await readCheckpoints(stored, this.deps.auditKey);
    const end = stored.at(-1) as { n?: unknown; hash?: unknown } | undefined;
    this.state = {
      heads: reading.heads,
      ...(typeof end?.n === 'number' && typeof end.hash === 'string' ? { last: { n: end.n, hash: end.hash } } : {}),
    };
    if (stored.length === 0) {
      if (options.baseline) await this.checkpoint('all', 'baseline: the heads of the trail when checkpoints began', true);
      else await this.checkpoint('all', 'the checkpoint log was empty under an existing audit key: no baseline', false, true);
    }
    return reading;
  }

  /** Record the heads of these campaigns (or of every campaign) that moved since the last record; undefined when none did. */
  checkpoint(campaignIds: readonly string[] | 'all', reason: string, baseline = false, always = baseline): Promise<CheckpointRecord | undefined> {
    const run = this.queue.then(() => this.write(campaignIds, reason, baseline, always));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(campaignIds: readonly string[] | 'all', reason: string, baseline: boolean, always: boolean): Promise<CheckpointRecord | undefined> {
    if (!this.state) throw new Error('Checkpointer.open() first');
    const ids = campaignIds === 'all' ? await this.allCampaigns() : campaignIds;
    const moved: RecordedHeads = {};
    for (const campaignId of ids) {
      const now = await chainHeadsOf(this.deps.store, campaignId);
      const known = this.state.heads[campaignId] ?? {};
      for (const [chain, head] of Object.entries(now)) {
        const before = known[chain];
        if (!before || before.seq !== head.seq || before.hash !== head.hash) (moved[campaignId] ??= {})[chain] = head;
      }
    }
    if (!always && Object.keys(moved).length === 0) return undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const n = (this.state.last?.n ?? 0) + 1;
      const unsigned = {
        v: 1 as const,
        n,
        at: this.deps.clock.now().toISOString(),
        reason: reason.slice(0, 300),
        ...(baseline ? { baseline: true } : {}),
        campaigns: moved,
        prev: this.state.last?.hash ?? ZERO_HASH,
      };
      const hash = recordHash(unsigned);
      const record: CheckpointRecord = { ...unsigned, hash, ...(this.deps.auditKey ? { mac: await macField(this.deps.auditKey, macMessage(hash)) } : {}) };
      try {
        await this.deps.log.append(record);
      } catch (e) {
        if (!(e instanceof AlreadyExistsError)) throw e;
        // another writer took the number: continue after its record
        const end = (this.deps.log.readLast ? await this.deps.log.readLast() : (await this.deps.log.readAll()).at(-1)) as { n: number; hash: string };
        this.state.last = { n: end.n, hash: end.hash };
        continue;
      }
      this.state.last = { n, hash };
      for (const [campaignId, chains] of Object.entries(moved)) Object.assign((this.state.heads[campaignId] ??= {}), chains);
      return record;
    }
    throw new AlreadyExistsError('checkpoint', 'three writers in a row took the next number');
  }

  private async allCampaigns(): Promise<string[]> {
    return [...(await this.deps.store.listCampaigns()).map((c) => c.id), ...(this.deps.otherTrails ?? [])];
  }
}
