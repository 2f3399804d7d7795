import { createHash } from 'node:crypto';
import { AlreadyExistsError, StaleWriteError } from '../errors.js';
import { canonicalize, wellFormed } from './jcs.js';
import type { AuditEvent } from '../model.js';
import type { Deps, Store } from '../ports.js';
import { macField } from './mac.js';
import { sha256Hex } from './sha256.js';

/**
 * The audit trail: hash chains. An event belongs to the chain of its case when it has one, else of its notice,
 * else of its campaign. Each event holds its place in the chain (`seq`), the hash of the event before it
 * (`prev`) and its own hash: sha-256 of the RFC 8785 canonical JSON of the whole event without `hash` (and
 * `mac`), and with an audit key the MAC of that hash. The first
 * event of a case or notice chain points at the first event of its campaign's chain (the campaign root), so
 * every chain is anchored to it; the campaign chain starts from ZERO_HASH. A 20,000-case campaign writes to
 * 20,000 chains, never to one hot key.
 */

/** The `prev` of the first event of a campaign chain. */
export const ZERO_HASH = '0'.repeat(64);

/** An event as the commands hand it in: the id, the time and the chain fields are stamped on append. */
export type NewAuditEvent = Omit<AuditEvent, 'id' | 'at' | 'chain' | 'seq' | 'prev' | 'hash'>;

/** The type of the event that starts a campaign chain when a case or notice chain needs its root first. */
export const GENESIS_TYPE = 'audit.genesis';

// a chain slot lost to another writer is re-read and tried again; this many losses in a row is no race but a fault
const MAX_ATTEMPTS = 50;

/** The chain of a campaign's own events (and the root its case and notice chains are anchored to). */
export function campaignChain(campaignId: string): string {
  return `campaign:${campaignId}`;
}

/** The chain of a case's events. */
export function caseChain(caseId: string): string {
  return `case:${caseId}`;
}

/** The chain an event belongs to: its case's, else its notice's, else its campaign's. */
export function chainOf(event: Pick<AuditEvent, 'campaignId' | 'caseId' | 'noticeId'>): string {
  if (event.caseId !== undefined) return caseChain(event.caseId);
  if (event.noticeId !== undefined) return `notice:${event.noticeId}`;
  return campaignChain(event.campaignId);
}

/** The hash an event must carry: sha-256 (hex) of the canonical JSON of the event without `hash` and `mac`. */
export function eventHash(event: Omit<AuditEvent, 'hash'> | AuditEvent): string {
  const { hash: _ignored, mac: _mac, ...rest } = event as AuditEvent;
  return sha256Hex(canonicalize(rest));
}

/**
 * eventHash of an event that has no `hash` or `mac` yet, by node:crypto: the same digest (the tests hold the two
 * implementations to each other) at a fraction of the plain-TypeScript one's cost, on the append path only;
 * the verifier keeps eventHash, the code an evidence pack carries.
 */
function appendHash(event: Omit<AuditEvent, 'hash' | 'mac'>): string {
  return createHash('sha256').update(canonicalize(event)).digest('hex');
}

/** What an event's MAC is computed over: its hash, which covers everything else, under a label of its own. */
export function eventMacMessage(hash: string): string {
  return `takedown-audit-event-v1:${hash}`;
}

// the campaign roots seen by this process: a chain's first event never changes, so this cannot go stale
const roots = new WeakMap<Store, Map<string, string>>();

/** Where a chain ended when this process last wrote or read it. */
interface KnownHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * The chain heads this process appended last, per store. A hint, never the truth: another process (or another
 * store object over the same data) may have appended since, and then the conditional write of the next slot
 * fails and the head is read again. A head known here is ahead of the store only when someone deleted events
 * from it: the next append then leaves a gap in the chain's seq, which `audit verify` reports, rather than
 * linking over the deletion.
 */
const heads = new WeakMap<Store, Map<string, KnownHead>>();

/**
 * How many chain heads a process keeps per store: a campaign of 200,000 cases touches 200,000 chains, and a
 * head costs ~200 bytes; past this the oldest are forgotten (and read from the store when next needed).
 */
export const KNOWN_HEADS = 50_000;

function knownHeads(store: Store): Map<string, KnownHead> {
  let known = heads.get(store);
  if (!known) heads.set(store, (known = new Map()));
  return known;
}

function rememberHead(known: Map<string, KnownHead>, chain: string, head: KnownHead): void {
  const current = known.get(chain);
  // concurrent appends of this process finish in any order: keep the furthest
  if (current && current.seq >= head.seq) return;
  // re-inserted, so the Map's insertion order is the order of last use and the first key the one to forget
  known.delete(chain);
  known.set(chain, head);
  if (known.size > KNOWN_HEADS) known.delete(known.keys().next().value!);
}

/**
 * Append one audit event, stamped with an id and the domain time, to the end of its chain: link it to the
 * chain's head and put it into the next slot only if that slot is still free. The head is the one this process
 * last appended when it knows it, else read from the store; a writer that lost the slot (to another process,
 * or to a head known here that was stale) reads the head from the store and links again, so a chain never
 * forks. Never put a secret or a body in `data`.
 */
export async function appendEvent(deps: Pick<Deps, 'store' | 'ids' | 'clock' | 'auditKey'>, event: NewAuditEvent): Promise<AuditEvent> {
  const [full] = await appendLinked(deps, [stamp(deps, event)], ([one]) => deps.store.appendEvent(one!));
  return full!;
}

/**
 * Append several events at once, in the order given, as appendEvent appends one: each linked to its chain's head
 * (or to the event before it in this batch, on the same chain). With a store that takes a batch (appendEvents)
 * they are stored in one write, all or none, so a page of cases costs one commit rather than one per case; a
 * slot lost to another writer re-links the whole batch. Without one, they are appended one by one.
 */
export async function appendEvents(deps: Pick<Deps, 'store' | 'ids' | 'clock' | 'auditKey'>, events: readonly NewAuditEvent[]): Promise<AuditEvent[]> {
  const batch = deps.store.appendEvents?.bind(deps.store);
  if (!batch || events.length < 2) {
    const out: AuditEvent[] = [];
    for (const event of events) out.push(await appendEvent(deps, event));
    return out;
  }
  return appendLinked(deps, events.map((e) => stamp(deps, e)), batch);
}

// stored as JSON and hashed as what comes back from it: undefined fields dropped, text well formed
function stamp(deps: Pick<Deps, 'ids' | 'clock'>, event: NewAuditEvent): Omit<AuditEvent, 'chain' | 'seq' | 'prev' | 'hash'> {
  return asStored({ id: deps.ids.newId('e'), at: deps.clock.now().toISOString(), ...event });
}

/**
 * Links stamped events to their chains and stores them with `put`; on a lost slot the heads of every chain of
 * the batch are read from the store and the batch is linked again (a batch is stored whole or not at all).
 */
async function appendLinked(
  deps: Pick<Deps, 'store' | 'ids' | 'clock' | 'auditKey'>,
  bases: readonly Omit<AuditEvent, 'chain' | 'seq' | 'prev' | 'hash'>[],
  put: (events: AuditEvent[]) => Promise<void>,
): Promise<AuditEvent[]> {
  const known = knownHeads(deps.store);
  const chains = bases.map((b) => chainOf(b));
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    // where each chain ends as this batch is linked: the head known here (first try only) or the store's, then
    // each event of the batch in turn
    const ends = new Map<string, KnownHead | undefined>();
    // the first event of a campaign chain begun in this batch, by campaign: the root of the chains after it
    const begun = new Map<string, string>();
    const linked: AuditEvent[] = [];
    for (const [i, base] of bases.entries()) {
      const chain = chains[i]!;
      if (!ends.has(chain)) ends.set(chain, (attempt === 0 ? known.get(chain) : undefined) ?? (await deps.store.chainHead(chain)));
      const head = ends.get(chain);
      const root = campaignChain(base.campaignId);
      // a chain's first event links to the campaign root: ZERO_HASH for the campaign chain itself, else its first
      // event, from this very batch when the batch starts the campaign chain
      const prev = head
        ? head.hash
        : chain === root
          ? ZERO_HASH
          : (begun.get(base.campaignId) ?? (await campaignRoot(deps, base.campaignId)));
      const withLink = { ...base, chain, seq: head ? head.seq + 1 : 0, prev };
      const hash = appendHash(withLink);
      // keyed: whoever can write the store can recompute a hash, not this
      const full: AuditEvent = { ...withLink, hash, ...(deps.auditKey ? { mac: await macField(deps.auditKey, eventMacMessage(hash)) } : {}) };
      if (chain === root && full.seq === 0) begun.set(base.campaignId, hash);
      linked.push(full);
      ends.set(chain, { seq: full.seq, hash });
    }
    let stored: boolean;
    try {
      stored = await slotsFree(() => put(linked));
    } catch (e) {
      // whether the write happened is unknown: the next append of these chains asks the store
      for (const chain of chains) known.delete(chain);
      throw e;
    }
    if (stored) {
      for (const [chain, head] of ends) rememberHead(known, chain, head!);
      return linked;
    }
    for (const chain of chains) known.delete(chain);
  }
  throw new StaleWriteError('chain', chains[0]!);
}

/** The hash of the campaign chain's first event, appending a genesis event when the campaign has none yet. */
async function campaignRoot(deps: Pick<Deps, 'store' | 'ids' | 'clock' | 'auditKey'>, campaignId: string): Promise<string> {
  let known = roots.get(deps.store);
  if (!known) roots.set(deps.store, (known = new Map()));
  const cached = known.get(campaignId);
  if (cached) return cached;
  const chain = campaignChain(campaignId);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const [first] = await deps.store.listChain(chain, { limit: 1 });
    if (first) {
      known.set(campaignId, first.hash);
      return first.hash;
    }
    // a case or notice event before any event of its campaign (a test, a repair): the root must exist first
    const linked = asStored({
      id: deps.ids.newId('e'),
      at: deps.clock.now().toISOString(),
      campaignId,
      type: GENESIS_TYPE,
      actor: 'system',
      data: { reason: 'root of the campaign chain, created for the first case or notice event' },
      chain,
      seq: 0,
      prev: ZERO_HASH,
    });
    // a lost race means someone else's genesis is in the slot now: read it on the next round
    const hash = eventHash(linked);
    await tryAppend(deps.store, { ...linked, hash, ...(deps.auditKey ? { mac: await macField(deps.auditKey, eventMacMessage(hash)) } : {}) });
  }
  throw new StaleWriteError('chain', chain);
}

/** false when the event's chain slot was taken by another writer (any other failure is thrown). */
function tryAppend(store: Store, event: AuditEvent): Promise<boolean> {
  return slotsFree(() => store.appendEvent(event));
}

/** false when a write failed because a chain slot was taken by another writer (any other failure is thrown). */
async function slotsFree(write: () => Promise<void>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (e) {
    if (e instanceof AlreadyExistsError && e.code === CHAIN_SLOT_TAKEN) return false;
    throw e;
  }
}

/** The `code` of the AlreadyExistsError a store throws when an event's (chain, seq) slot is taken. */
export const CHAIN_SLOT_TAKEN = 'CHAIN.ALREADY_EXISTS';

/** The AlreadyExistsError a store throws for a taken chain slot. */
export function chainSlotTaken(chain: string, seq: number): AlreadyExistsError {
  return new AlreadyExistsError('chain', `${chain} seq ${seq}`);
}

function asStored<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? wellFormed(v) : v))) as T;
}
