import { campaignChain, eventHash, eventMacMessage, ZERO_HASH } from './events.js';
import { macMatches } from './mac.js';
import type { AuditEvent } from '../model.js';
import type { AuditKey, Deps } from '../ports.js';

/**
 * Verifying the audit trail: every chain recomputed from its events, link by link, and the first broken link
 * reported. A chain is read in the order its events are stored (slot order), never re-sorted by what the
 * events say, so events swapped between two slots show up as reordered.
 */

/**
 * What is wrong with a link:
 * - `hash-mismatch`: the event's content is not what its hash was computed over (it was altered);
 * - `missing-seq`: the slot holds a later event and the expected one is nowhere in the chain (deleted);
 * - `reordered`: the slot holds an event of another place (or another chain) of the trail;
 * - `wrong-prev`: the event does not point at the event stored before it;
 * - `anchor-mismatch`: the first event of a case or notice chain does not point at its campaign's root;
 * - `unreadable`: the stored event is not a chain link at all (not JSON, fields missing);
 * - `truncated`: a head recorded earlier (a checkpoint, an exported manifest) is no longer in the chain, or differs;
 * - `mac-mismatch`: the event's MAC does not verify under the audit key (rewritten and re-hashed without it);
 * - `unsigned`: an event without a MAC where only the key holder writes (after a keyed event, or past the baseline).
 */
export type BreakKind = 'hash-mismatch' | 'missing-seq' | 'reordered' | 'wrong-prev' | 'anchor-mismatch' | 'unreadable' | 'truncated' | 'mac-mismatch' | 'unsigned';

/** The first broken link of a chain. */
export interface ChainBreak {
  readonly chain: string;
  /** the place in the chain where it broke (the slot position read) */
  readonly seq: number;
  /** the event found there, when there is one */
  readonly eventId?: string;
  readonly kind: BreakKind;
  /** one line for people; never a value of the event's data */
  readonly detail: string;
}

/** The last event of a chain: what a later verification checks the chain still leads through. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

export interface AuditReport {
  readonly ok: boolean;
  readonly chains: number;
  readonly events: number;
  /** the first broken link, campaign chains first, then the others in chain order */
  readonly broken?: ChainBreak;
  /** how many chains have a broken link */
  readonly brokenChains: number;
  /** the head of every chain read, as stored */
  readonly heads: Readonly<Record<string, ChainHead>>;
  /** with a key: events whose MAC verified, and events written before the trail was keyed (the baseline's) */
  readonly macs?: { readonly checked: number; readonly legacy: number };
}

/** A chain as stored: the chain the store keeps the events under, and the events in slot order. */
export interface StoredChain {
  readonly chain: string;
  readonly events: readonly unknown[];
}

export interface VerifyOptions {
  /** heads recorded earlier (a checkpoint's, an exported manifest's): each must still be in its chain with the same hash */
  readonly heads?: Readonly<Record<string, ChainHead>>;
  /** the audit key: every event's MAC is checked, and only the baseline's events may lack one (verifyCampaign) */
  readonly key?: AuditKey;
  /** per chain, the last event written before the trail was keyed (the first checkpoint's heads) */
  readonly legacy?: Readonly<Record<string, ChainHead>>;
}

/**
 * Verify events grouped into chains by their own `chain` field, each chain in the order given (an exported
 * events.jsonl). Campaign roots are taken from the campaign chains among them.
 */
export function verifyChains(events: Iterable<unknown>, options: VerifyOptions = {}): AuditReport {
  const chains = new Map<string, unknown[]>();
  const verifier = new ChainVerifier(options);
  let position = 0;
  for (const event of events) {
    const chain = isRecord(event) && typeof event['chain'] === 'string' ? event['chain'] : undefined;
    if (chain === undefined) {
      verifier.note({ chain: '(none)', seq: position, kind: 'unreadable', detail: `item ${position} names no chain`, ...idOf(event) });
    } else {
      let list = chains.get(chain);
      if (!list) chains.set(chain, (list = []));
      list.push(event);
    }
    position++;
  }
  const order = chainOrder([...chains.keys()]);
  for (const chain of order) if (isCampaignChain(chain)) verifier.rootFrom(chain, chains.get(chain)!);
  for (const chain of order) verifier.verify({ chain, events: chains.get(chain)! });
  return verifier.report();
}

export interface CampaignVerifyOptions extends VerifyOptions {
  /** called after each chain with the chains done and the total, for a progress bar */
  readonly onProgress?: (done: number, total: number) => void;
  /** chains read at once (a remote store answers faster in parallel) @default 8 */
  readonly concurrency?: number;
}

/**
 * Verify every chain of a campaign as the store holds it: the campaign chain first (its first event is the root
 * every other chain is anchored to), then each case and notice chain in slot order. Chains are read a few at a
 * time and not kept, so 100,000 events need no more memory than the largest chain.
 */
export async function verifyCampaign(deps: Pick<Deps, 'store'>, campaignId: string, options: CampaignVerifyOptions = {}): Promise<AuditReport> {
  const root = campaignChain(campaignId);
  // the root chain is read even when none of its events is listed: without it no other chain is anchored
  const rest = chainOrder((await deps.store.listChains(campaignId)).filter((c) => c !== root));
  const total = rest.length + 1;
  const verifier = new ChainVerifier(options);
  const read = async (chain: string): Promise<readonly unknown[] | ChainBreak> => {
    try {
      return await deps.store.listChain(chain);
    } catch (e) {
      // a stored event that is no longer JSON fails the adapter's parse: that is a finding, not a crash
      if (e instanceof SyntaxError) return { chain, seq: 0, kind: 'unreadable', detail: 'a stored event of the chain is not JSON' };
      throw e;
    }
  };
  const verifyRead = async (chain: string, events: readonly unknown[] | ChainBreak): Promise<void> => {
    if (Array.isArray(events)) await verifier.verifyKeyed({ chain, events });
    else verifier.note(events as ChainBreak);
  };
  const rootEvents = await read(root);
  if (Array.isArray(rootEvents)) verifier.rootFrom(root, rootEvents);
  // an empty root chain is no chain to count: the chains anchored to it report its absence
  if (!Array.isArray(rootEvents) || rootEvents.length > 0) await verifyRead(root, rootEvents);
  options.onProgress?.(1, total);
  const limit = Math.max(1, options.concurrency ?? 8);
  // read ahead in parallel, verify in chain order, so "the first broken link" is the same on every run
  for (let i = 0; i < rest.length; i += limit) {
    const batch = rest.slice(i, i + limit);
    const chains = await Promise.all(batch.map(read));
    for (let j = 0; j < batch.length; j++) await verifyRead(batch[j]!, chains[j]!);
    options.onProgress?.(Math.min(total, i + limit + 1), total);
  }
  return verifier.report();
}

/**
 * Verify one chain (a case page's "chain status"): the chain as stored, anchored to its campaign's root. Reads the
 * chain and the root event only.
 */
export async function verifyChain(deps: Pick<Deps, 'store'>, campaignId: string, chain: string): Promise<AuditReport> {
  const root = campaignChain(campaignId);
  const events = await deps.store.listChain(chain);
  const verifier = new ChainVerifier({});
  verifier.rootFrom(root, chain === root ? events : await deps.store.listChain(root, { limit: 1 }));
  verifier.verify({ chain, events });
  return verifier.report();
}

/** The order chains are verified and exported in: campaign chains first (they hold the roots), then the others, each group in code-unit order. */
export function chainOrder(chains: readonly string[]): string[] {
  return [...chains].sort((a, b) => Number(isCampaignChain(b)) - Number(isCampaignChain(a)) || (a < b ? -1 : a > b ? 1 : 0));
}

function isCampaignChain(chain: string): boolean {
  return chain.startsWith('campaign:');
}

/** Keeps the campaign roots, the first break, the counts and the heads across chains. */
class ChainVerifier {
  private readonly roots = new Map<string, string>();
  private first: ChainBreak | undefined;
  private brokenChains = 0;
  private chains = 0;
  private events = 0;
  private readonly heads: Record<string, ChainHead> = {};
  private readonly macs = { checked: 0, legacy: 0 };

  constructor(private readonly options: VerifyOptions) {}

  /** verify, then (with a key, when every link holds) every MAC of the chain */
  async verifyKeyed(stored: StoredChain): Promise<void> {
    const before = this.brokenChains;
    this.verify(stored);
    if (this.brokenChains !== before || !this.options.key) return;
    const broken = await macBreak(stored, this.options.key, this.options.legacy?.[stored.chain], this.macs);
    if (broken) this.note(broken);
  }

  /** Remember the root of a campaign chain: the hash its first stored event carries. */
  rootFrom(chain: string, events: readonly unknown[]): void {
    const first = events[0];
    if (isRecord(first) && first['seq'] === 0 && typeof first['hash'] === 'string') {
      this.roots.set(chain.slice('campaign:'.length), first['hash']);
    }
  }

  verify(stored: StoredChain): void {
    this.chains++;
    this.events += stored.events.length;
    const found = checkChain(stored, this.roots);
    const last = stored.events[stored.events.length - 1];
    if (isRecord(last) && typeof last['seq'] === 'number' && typeof last['hash'] === 'string') {
      this.heads[stored.chain] = { seq: last['seq'], hash: last['hash'] };
    }
    const broken = found ?? this.checkKnownHead(stored);
    if (broken) this.note(broken);
  }

  /** Count a broken chain; the first one noted is the one reported. */
  note(broken: ChainBreak): void {
    this.brokenChains++;
    this.first ??= broken;
  }

  /** A head recorded earlier must still be in the chain: a cut-off tail leaves every remaining link valid. */
  private checkKnownHead(stored: StoredChain): ChainBreak | undefined {
    const known = this.options.heads?.[stored.chain];
    if (!known) return undefined;
    const at = stored.events[known.seq];
    if (!isRecord(at)) {
      return { chain: stored.chain, seq: known.seq, kind: 'truncated', detail: `the chain ends at seq ${stored.events.length - 1}; seq ${known.seq} was its head before` };
    }
    if (at['hash'] !== known.hash) {
      return { chain: stored.chain, seq: known.seq, kind: 'truncated', detail: `seq ${known.seq} is not the event recorded as the head before (the chain was rewritten)`, ...idOf(at) };
    }
    return undefined;
  }

  report(): AuditReport {
    // a chain recorded before that is gone entirely leaves nothing behind to fail on its own
    for (const chain of chainOrder(Object.keys(this.options.heads ?? {}))) {
      if (!(chain in this.heads)) this.note({ chain, seq: 0, kind: 'truncated', detail: 'a chain recorded before has no event any more' });
    }
    const broken = this.first;
    return {
      ok: broken === undefined,
      chains: this.chains,
      events: this.events,
      ...(broken ? { broken } : {}),
      brokenChains: this.brokenChains,
      heads: this.heads,
      ...(this.options.key ? { macs: { ...this.macs } } : {}),
    };
  }
}

/** The first broken link of one chain, or undefined when every link holds. */
function checkChain(stored: StoredChain, roots: ReadonlyMap<string, string>): ChainBreak | undefined {
  const { chain, events } = stored;
  const root = isCampaignChain(chain);
  let seqs: Set<unknown> | undefined;
  let prevHash: string | undefined;
  for (let position = 0; position < events.length; position++) {
    const event = events[position];
    const at = (kind: BreakKind, detail: string): ChainBreak => ({ chain, seq: position, kind, detail, ...idOf(event) });
    if (!isLink(event)) return at('unreadable', 'the stored event is not a chain link (fields missing or of the wrong type)');
    let computed: string;
    try {
      computed = eventHash(event);
    } catch {
      return at('unreadable', 'the stored event has no canonical JSON form');
    }
    if (computed !== event.hash) return at('hash-mismatch', 'the event does not match its hash: its content was altered');
    if (event.chain !== chain || event.seq !== position) {
      if (event.chain === chain && event.seq > position) {
        seqs ??= new Set(events.map((e) => (isRecord(e) ? e['seq'] : undefined)));
        if (!seqs.has(position)) return at('missing-seq', `seq ${position} is missing: the next event stored is seq ${event.seq}`);
      }
      return at('reordered', `the slot of ${chain} seq ${position} holds ${event.chain} seq ${event.seq}`);
    }
    if (position === 0) {
      const expected = root ? ZERO_HASH : roots.get(event.campaignId);
      if (event.prev !== expected) {
        return at(
          'anchor-mismatch',
          root
            ? 'the first event of a campaign chain must start from the zero hash'
            : expected === undefined
              ? `campaign ${event.campaignId} has no root event to anchor to`
              : `the first event does not point at the root of campaign ${event.campaignId}`,
        );
      }
    } else if (event.prev !== prevHash) {
      return at('wrong-prev', `the event does not point at seq ${position - 1} stored before it`);
    }
    prevHash = event.hash;
  }
  return undefined;
}

/**
 * The first event of a chain whose MAC is wrong or missing. A chain's events without a MAC are allowed only as its
 * oldest ones, up to the baseline's head: the events written before the trail was keyed. After the first keyed
 * event, or past the baseline, a missing MAC means the event was written (or stripped) by someone without the key.
 */
async function macBreak(stored: StoredChain, key: AuditKey, legacy: ChainHead | undefined, counts: { checked: number; legacy: number }): Promise<ChainBreak | undefined> {
  let keyed = false;
  for (let position = 0; position < stored.events.length; position++) {
    const event = stored.events[position] as AuditEvent;
    const at = (kind: BreakKind, detail: string): ChainBreak => ({ chain: stored.chain, seq: position, kind, detail, ...idOf(event) });
    if (typeof event.mac === 'string') {
      const verdict = await macMatches(key, eventMacMessage(event.hash), event.mac);
      if (verdict === 'other-key') return at('mac-mismatch', `the event is MACed under another key than the audit key (${key.keyId})`);
      if (verdict === 'mismatch') return at('mac-mismatch', 'the event\'s MAC does not verify: it was written or rewritten (and re-hashed) without the audit key');
      keyed = true;
      counts.checked++;
    } else if (!keyed && legacy !== undefined && event.seq <= legacy.seq) {
      counts.legacy++;
    } else {
      return at('unsigned', keyed ? 'an event without a MAC after MACed events: written or stripped without the audit key' : 'an event without a MAC that no checkpoint baseline covers: written without the audit key');
    }
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isLink(value: unknown): value is AuditEvent {
  return (
    isRecord(value) &&
    typeof value['id'] === 'string' &&
    typeof value['campaignId'] === 'string' &&
    typeof value['type'] === 'string' &&
    typeof value['chain'] === 'string' &&
    typeof value['seq'] === 'number' &&
    Number.isInteger(value['seq']) &&
    typeof value['prev'] === 'string' &&
    typeof value['hash'] === 'string' &&
    isRecord(value['data'])
  );
}

function idOf(event: unknown): { eventId?: string } {
  return isRecord(event) && typeof event['id'] === 'string' ? { eventId: event['id'] } : {};
}
