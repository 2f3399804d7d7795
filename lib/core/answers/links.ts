import { StaleWriteError, TakedownError } from '../errors.js';
import { ANSWER_LINK_KIND, LinkValue, provenDelivered, type LinkIntent } from '../notices/index.js';
import type { Notice } from '../model.js';
import { recordAnswer, type AnswerResult } from './record.js';
import type { Deps, StoredRecord } from '../ports.js';

export type LinkProblem = 'unknown' | 'used' | 'expired';

/** A link that cannot be used: unknown (404), or used or expired (410). The message never holds the token. */
export class LinkUnusableError extends TakedownError {
  readonly problem: LinkProblem;
  /** the notice a used or expired link belonged to (its page speaks the notice's language) */
  readonly noticeId?: string;
  constructor(problem: LinkProblem, noticeId?: string) {
    const text = { unknown: 'this link is not known', used: 'this link was used already', expired: 'this link has expired' }[problem];
    super(`LINK.${problem.toUpperCase()}`, text);
    this.name = 'LinkUnusableError';
    this.problem = problem;
    if (noticeId) this.noticeId = noticeId;
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

async function usable(deps: Deps, token: string): Promise<{ record: StoredRecord; value: LinkValue; hash: string }> {
  if (!TOKEN.test(token)) throw new LinkUnusableError('unknown');
  const hash = deps.ids.hash(token);
  const record = await deps.store.getRecord(ANSWER_LINK_KIND, hash);
  if (!record) throw new LinkUnusableError('unknown');
  const value = LinkValue.parse(JSON.parse(record.value));
  if (value.usedAt) throw new LinkUnusableError('used', value.noticeId);
  if (value.expiresAt <= deps.clock.now().toISOString()) throw new LinkUnusableError('expired', value.noticeId);
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
  // the link was in one message only: it was delivered, whatever its hand-over said
  const carrier = (await deps.store.listOutbound(value.noticeId)).find((o) => o.linkTokenHashes?.includes(hash));
  if (carrier) await provenDelivered(deps, carrier.id, 'one of its answer links was used');
  // applied before the link is marked: a crash between the two leaves a link that applies nothing new when used again
  const result = await recordAnswer(deps, value.noticeId, { intent: value.intent, source: 'link', answerId: `link-${hash.slice(0, 40)}` });
  const used: LinkValue = { ...value, usedAt: deps.clock.now().toISOString() };
  try {
    await deps.store.putRecord({ ...record, value: JSON.stringify(used), version: record.version + 1 }, record.version);
  } catch (e) {
    if (e instanceof StaleWriteError) throw new LinkUnusableError('used', value.noticeId);
    throw e;
  }
  return { ...result, intent: value.intent };
}
