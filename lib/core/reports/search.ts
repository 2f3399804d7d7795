import { z } from 'zod';
import { CaseState, type Campaign, type Case, type Notice } from '../model.js';
import type { Deps } from '../ports.js';
import { listAll } from '../paging.js';
import { InvalidInputError } from '../errors.js';
import { countryOf, partyOf } from './stats.js';

/**
 * Finding anything a coordinator holds in hand: an indicator as it was written (defanged, upper case: it is
 * normalised first), a campaign, notice or case id, a notice's `TKD-…` tag, a recipient's address or a party (its
 * id, or a word of its name). Exact where the thing has an exact form; a name matches by the words it contains.
 */

/** Everything one query found, each list capped at `limit`. */
export interface SearchResult {
  readonly query: string;
  /** what the query was read as: an id, a tag, an indicator (its canonical form), or a name */
  readonly readAs: 'campaign' | 'notice' | 'case' | 'indicator' | 'party';
  /** the canonical form, when it was read as an indicator */
  readonly indicator?: string;
  readonly campaigns: Campaign[];
  readonly notices: Notice[];
  readonly cases: Case[];
  /** set when a list was cut at the limit */
  readonly truncated?: boolean;
}

const ALL_STATES: ReadonlySet<CaseState> = new Set(CaseState.options);

/** What a search may ask: the text, and at most how many of each kind to return. */
export const SearchQuery = z.object({
  q: z.string().trim().min(1, 'type an indicator, an id, a tag, a recipient or a party').max(2000),
  limit: z.number().int().min(1).max(1000).default(100),
});

function idKind(q: string): { kind: 'campaign' | 'notice' | 'case'; id: string } | undefined {
  const tag = /^\[?TKD-(n[a-z0-9]{16})\]?$/i.exec(q);
  if (tag) return { kind: 'notice', id: tag[1]!.toLowerCase() };
  if (/^cmp_[a-z0-9]{16}$/.test(q)) return { kind: 'campaign', id: q };
  if (/^n[a-z0-9]{16}$/.test(q)) return { kind: 'notice', id: q };
  if (/^c[a-z0-9]{16}$/.test(q)) return { kind: 'case', id: q };
  return undefined;
}

/** Find campaigns, notices and cases by an indicator, an id, a tag, a recipient address or a party. */
export async function search(deps: Pick<Deps, 'store'>, input: z.input<typeof SearchQuery>): Promise<SearchResult> {
  const parsed = SearchQuery.safeParse(input);
  if (!parsed.success) throw new InvalidInputError('the search is not valid', parsed.error.issues.map((i) => ({ where: i.path.join('.') || 'q', reason: i.message })));
  const { q, limit } = parsed.data;
  const capped = <T>(xs: T[]): { items: T[]; cut: boolean } => ({ items: xs.slice(0, limit), cut: xs.length > limit });

  const id = idKind(q);
  if (id) {
    const campaigns: Campaign[] = [];
    const notices: Notice[] = [];
    const cases: Case[] = [];
    if (id.kind === 'campaign') {
      const c = await deps.store.getCampaign(id.id);
      if (c) campaigns.push(c);
    } else if (id.kind === 'notice') {
      const n = await deps.store.getNotice(id.id);
      if (n) {
        notices.push(n);
        cases.push(...(await listAll((p) => deps.store.listCases({ noticeId: n.id }, p))));
      }
    } else {
      const c = await deps.store.getCase(id.id);
      if (c) cases.push(c);
    }
    const cut = capped(cases);
    return { query: q, readAs: id.kind, campaigns, notices, cases: cut.items, ...(cut.cut ? { truncated: true } : {}) };
  }

  // loaded here: every command that reads a campaign's status would otherwise load the whole intake (its formats)
  const { normaliseIndicator } = await import('../intake/index.js');
  const normalised = normaliseIndicator(q);
  if (normalised.ok) {
    const value = normalised.indicator.value;
    const found = await deps.store.findCasesByIndicator([value], ALL_STATES);
    const cut = capped(found.sort((a, b) => a.campaignId.localeCompare(b.campaignId) || a.step - b.step));
    const campaignIds = [...new Set(cut.items.map((c) => c.campaignId))];
    const noticeIds = [...new Set(cut.items.map((c) => c.noticeId).filter((n): n is string => n !== undefined))];
    const [campaigns, notices] = await Promise.all([
      Promise.all(campaignIds.map((i) => deps.store.getCampaign(i))),
      Promise.all(noticeIds.map((i) => deps.store.getNotice(i))),
    ]);
    // a name is also a party's domain: a registrar found by its name is as useful as the indicator itself
    const byParty = normalised.indicator.kind === 'domain' ? await noticesOfParty(deps, q, limit) : [];
    const allNotices = [...notices.filter((n): n is Notice => n !== undefined), ...byParty.filter((n) => !noticeIds.includes(n.id))];
    return {
      query: q,
      readAs: 'indicator',
      indicator: value,
      campaigns: campaigns.filter((c): c is Campaign => c !== undefined),
      notices: allNotices.slice(0, limit),
      cases: cut.items,
      ...(cut.cut ? { truncated: true } : {}),
    };
  }

  const notices = await noticesOfParty(deps, q, limit + 1);
  const cut = capped(notices);
  const cases: Case[] = [];
  for (const n of cut.items) {
    if (cases.length > limit) break;
    cases.push(...(await listAll((p) => deps.store.listCases({ noticeId: n.id }, p))));
  }
  const casesCut = capped(cases);
  return { query: q, readAs: 'party', campaigns: [], notices: cut.items, cases: casesCut.items, ...(cut.cut || casesCut.cut ? { truncated: true } : {}) };
}

/** Notices whose recipient matches: its address or party id exactly, its name by every word of the query. */
async function noticesOfParty(deps: Pick<Deps, 'store'>, q: string, limit: number): Promise<Notice[]> {
  const needle = q.toLowerCase();
  const words = needle.split(/\s+/).filter(Boolean);
  const found: Notice[] = [];
  for (const campaign of await deps.store.listCampaigns()) {
    for (const n of await listAll((p) => deps.store.listNotices({ campaignId: campaign.id }, p))) {
      const p = n.party;
      const name = p.name.toLowerCase();
      const hit =
        p.email.toLowerCase() === needle ||
        p.id.toLowerCase() === needle ||
        p.email.toLowerCase().endsWith(`@${needle}`) ||
        (p.fallbackEmails ?? []).some((e) => e.toLowerCase() === needle) ||
        words.every((w) => name.includes(w));
      if (hit) found.push(n);
      if (found.length >= limit) return found;
    }
  }
  return found;
}

/** The filters of a campaign's case list (the dashboard's): by state, country, provider (party id) and party kind. */
export const CaseFilter = z.object({
  state: CaseState.optional(),
  country: z.string().regex(/^([A-Za-z]{2}|\?\?)$/).transform((c) => c.toUpperCase()).optional(),
  provider: z.string().min(1).max(300).optional(),
  kind: z.enum(['hosting', 'registrar', 'registry', 'cert', 'upstream']).optional(),
});
export type CaseFilter = z.infer<typeof CaseFilter>;

/** Whether a case passes a filter. */
export function caseMatches(c: Case, f: CaseFilter): boolean {
  if (f.state && c.state !== f.state) return false;
  if (f.country && countryOf(c) !== f.country) return false;
  const party = partyOf(c);
  if (f.provider && party.id !== f.provider) return false;
  if (f.kind && party.kind !== f.kind) return false;
  return true;
}
