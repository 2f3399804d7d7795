import { z } from 'zod';
import { StaleWriteError, TakedownError } from '../errors.js';
import type { Notice } from '../model.js';
import type { Deps, StoredRecord } from '../ports.js';
import { recordAnswer, type AnswerResult } from '../answers/answers.js';

/**
 * One-click answer links in a notice: acknowledge, taken down, not ours. Each is a bearer token (>= 128 bits)
 * stored only as its hash, single-use and expiring. Following a link shows a confirmation page; only the POST
 * from that page applies, so the link scanners of mail gateways (which GET every URL) apply nothing.
 */

export const ANSWER_LINK_KIND = 'answer-link';
export const DEFAULT_LINK_TTL_SECONDS = 30 * 24 * 3600;
// the record outlives the link, so a late click is told "expired" rather than "unknown"
const KEEP_AFTER_EXPIRY_MS = 90 * 24 * 3600 * 1000;

export const LinkIntent = z.enum(['acknowledged', 'actioned', 'not-ours']);
export type LinkIntent = z.infer<typeof LinkIntent>;

const LinkValue = z.object({
  noticeId: z.string(),
  intent: LinkIntent,
  expiresAt: z.string(),
  usedAt: z.string().optional(),
});
type LinkValue = z.infer<typeof LinkValue>;

/** The three URLs of a notice, to print in it. */
export interface AnswerLinks {
  readonly acknowledge: string;
  readonly actioned: string;
  readonly notOurs: string;
}

export interface IssueLinksOptions {
  /** how long the links work @default 30 days of domain time */
  readonly ttlSeconds?: number;
}

export type LinkProblem = 'unknown' | 'used' | 'expired';

/** A link that cannot be used: unknown (404), or used or expired (410). The message never holds the token. */
export class LinkUnusableError extends TakedownError {
  readonly problem: LinkProblem;
  constructor(problem: LinkProblem) {
    const text = { unknown: 'this link is not known', used: 'this link was used already', expired: 'this link has expired' }[problem];
    super(`LINK.${problem.toUpperCase()}`, text);
    this.name = 'LinkUnusableError';
    this.problem = problem;
  }
}

/** What a link would do, for its confirmation page; nothing is applied. */
export interface LinkView {
  readonly intent: LinkIntent;
  readonly expiresAt: string;
  readonly notice: Notice;
}

/** The result of using a link: the answer recorded through recordAnswer. */
export interface LinkUse extends AnswerResult {
  readonly intent: LinkIntent;
}

// tokens are URL-safe; anything else is refused before the store is asked
const TOKEN = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * Mints the acknowledge / taken-down / not-ours links of a notice, each single-use and expiring; only their
 * hashes are stored. The URLs are `${settings.publicUrl}/links/<token>`; a TakedownError (LINKS.NO_PUBLIC_URL)
 * when the host has no public URL, since a link that leads nowhere is worse than none.
 */
export async function issueAnswerLinks(deps: Deps, notice: Notice, opts: IssueLinksOptions = {}): Promise<AnswerLinks> {
  const base = deps.settings.publicUrl?.replace(/\/+$/, '');
  if (!base) throw new TakedownError('LINKS.NO_PUBLIC_URL', 'answer links need the public URL of the HTTP API (publicUrl)');
  const ttl = opts.ttlSeconds ?? DEFAULT_LINK_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1) throw new TakedownError('LINKS.BAD_TTL', 'a link lifetime is whole seconds >= 1');
  const now = deps.clock.now().getTime();
  const expiresAt = new Date(now + ttl * 1000).toISOString();
  const mint = async (intent: LinkIntent): Promise<string> => {
    const token = deps.ids.newToken();
    const value: LinkValue = { noticeId: notice.id, intent, expiresAt };
    await deps.store.putRecord(
      { kind: ANSWER_LINK_KIND, key: deps.ids.hash(token), value: JSON.stringify(value), version: 1, expiresAt: new Date(now + ttl * 1000 + KEEP_AFTER_EXPIRY_MS).toISOString() },
      'absent',
    );
    return `${base}/links/${token}`;
  };
  return { acknowledge: await mint('acknowledged'), actioned: await mint('actioned'), notOurs: await mint('not-ours') };
}

async function usable(deps: Deps, token: string): Promise<{ record: StoredRecord; value: LinkValue; hash: string }> {
  if (!TOKEN.test(token)) throw new LinkUnusableError('unknown');
  const hash = deps.ids.hash(token);
  const record = await deps.store.getRecord(ANSWER_LINK_KIND, hash);
  if (!record) throw new LinkUnusableError('unknown');
  const value = LinkValue.parse(JSON.parse(record.value));
  if (value.usedAt) throw new LinkUnusableError('used');
  if (value.expiresAt <= deps.clock.now().toISOString()) throw new LinkUnusableError('expired');
  return { record, value, hash };
}

/** What a link would do, for the page that asks to confirm it; applies nothing. LinkUnusableError when it cannot be used. */
export async function confirmLink(deps: Deps, token: string): Promise<LinkView> {
  const { value } = await usable(deps, token);
  const notice = await deps.store.getNotice(value.noticeId);
  if (!notice) throw new LinkUnusableError('unknown');
  return { intent: value.intent, expiresAt: value.expiresAt, notice };
}

/**
 * Applies a link's answer through recordAnswer (source 'link'), then marks the link used with a conditional
 * write: of a double click or two racing requests one applies, the other gets LinkUnusableError('used').
 * The answer id derives from the link, so even the loser of the race applies nothing twice.
 */
export async function useLink(deps: Deps, token: string): Promise<LinkUse> {
  const { record, value, hash } = await usable(deps, token);
  // applied before the link is marked: a crash between the two leaves a link that applies nothing new when used again
  const result = await recordAnswer(deps, value.noticeId, { intent: value.intent, source: 'link', answerId: `link-${hash.slice(0, 40)}` });
  const used: LinkValue = { ...value, usedAt: deps.clock.now().toISOString() };
  try {
    await deps.store.putRecord({ ...record, value: JSON.stringify(used), version: record.version + 1 }, record.version);
  } catch (e) {
    if (e instanceof StaleWriteError) throw new LinkUnusableError('used');
    throw e;
  }
  return { ...result, intent: value.intent };
}
