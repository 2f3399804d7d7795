import { z } from 'zod';
import type { Deps } from '../ports.js';
import type { Notice } from '../model.js';
import { TakedownError } from '../errors.js';

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

export const LinkValue = z.object({
  noticeId: z.string(),
  intent: LinkIntent,
  expiresAt: z.string(),
  usedAt: z.string().optional(),
});

export type LinkValue = z.infer<typeof LinkValue>;

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
