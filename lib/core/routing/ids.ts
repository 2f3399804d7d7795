import type { Indicator, LadderStep } from '../model.js';
import type { Ids, PartyLookup } from '../ports.js';
import { DEFAULT_ROUTING_POLICY, ladderFor, type RoutingPolicy } from './policy.js';

/**
 * The parties an indicator is escalated through, in order, as the routing policy says (see routing-policy.ts;
 * the built-in one: hosting network, then upstream or registrar, then the national CERT). Returns an empty
 * ladder when nobody can be found: the indicator is unroutable.
 */
export function buildLadder(indicator: Indicator, found: PartyLookup, policy: RoutingPolicy = DEFAULT_ROUTING_POLICY): LadderStep[] {
  return ladderFor(policy, indicator, found);
}

/**
 * The notice a case travels in. Deterministic, so routing again (a retried page, a restarted workflow)
 * lands every case in the same notice: one notice per recipient per campaign, or per escalation.
 */
export function noticeIdFor(ids: Ids, campaignId: string, recipient: string, step: number, escalatedFrom?: string): string {
  return ids.derive('n', campaignId, recipient.toLowerCase(), String(step), escalatedFrom ?? '');
}

/** The case of one indicator at one rung of its ladder. */
export function caseIdFor(ids: Ids, campaignId: string, indicatorValue: string, step: number, revival = 0): string {
  // a revived case climbs its ladder again: its escalations need ids of their own
  return revival ? ids.derive('c', campaignId, indicatorValue, String(step), `revival-${revival}`) : ids.derive('c', campaignId, indicatorValue, String(step));
}

/** The subject tag recipients keep when they reply: `TKD-<notice id>`. */
export function tagOf(noticeId: string): string {
  return `TKD-${noticeId}`;
}

const TAG_PATTERN = /\[?TKD-(n[0-9a-z]{16})\]?/i;

/** The notice id in a subject line's tag, if any. */
export function noticeIdFromTag(subject: string): string | undefined {
  return TAG_PATTERN.exec(subject)?.[1]?.toLowerCase();
}

/** `local+<notice>.<token>@domain` for the reply mailbox `local@domain`. */
export function replyAddress(replyMailbox: string, noticeId: string, token: string): string {
  const at = replyMailbox.lastIndexOf('@');
  return `${replyMailbox.slice(0, at)}+${noticeId}.${token}${replyMailbox.slice(at)}`;
}

/** The notice id and token in a reply address of our mailbox, if it is one. */
export function parseReplyAddress(replyMailbox: string, address: string): { noticeId: string; token: string } | undefined {
  const at = replyMailbox.lastIndexOf('@');
  const local = replyMailbox.slice(0, at).toLowerCase();
  const domain = replyMailbox.slice(at + 1).toLowerCase();
  const m = /^([^+@]+)\+(n[0-9a-z]{16})\.([0-9a-z]{16,64})@(.+)$/i.exec(address.trim());
  if (!m || m[1]!.toLowerCase() !== local || m[4]!.toLowerCase() !== domain) return undefined;
  return { noticeId: m[2]!.toLowerCase(), token: m[3]!.toLowerCase() };
}

/**
 * Reply tokens in mail addresses are 26 base32 characters (130 bits): with the notice id they leave room for a
 * mailbox local part of MAX_REPLY_LOCAL_PART characters within RFC 5321's 64 (`local+b.<notice>.<token>`).
 */
export const REPLY_TOKEN_LENGTH = 26;

/** The longest local part of the reply mailbox whose reply and bounce addresses stay within 64 characters. */
export const MAX_REPLY_LOCAL_PART = 64 - '+b.'.length - 17 - '.'.length - REPLY_TOKEN_LENGTH;

/**
 * The envelope sender (VERP) of a notice's messages: `local+b.<notice>.<token>@domain`. Every delivery status
 * notification comes back to it, so a bounce is tied to its notice by the address it was sent to even when it
 * quotes nothing of the message, and the From can stay on a desk's mailbox.
 */
export function verpAddress(replyMailbox: string, noticeId: string, token: string): string {
  const at = replyMailbox.lastIndexOf('@');
  return `${replyMailbox.slice(0, at)}+b.${noticeId}.${token}${replyMailbox.slice(at)}`;
}

/** The notice id and token of one of our envelope senders (verpAddress), if the address is one. */
export function parseVerpAddress(replyMailbox: string, address: string): { noticeId: string; token: string } | undefined {
  const at = replyMailbox.lastIndexOf('@');
  const local = replyMailbox.slice(0, at).toLowerCase();
  const domain = replyMailbox.slice(at + 1).toLowerCase();
  const m = /^([^+@]+)\+b\.(n[0-9a-z]{16})\.([0-9a-z]{16,64})@(.+)$/i.exec(address.trim().replace(/^<|>$/g, ''));
  if (!m || m[1]!.toLowerCase() !== local || m[4]!.toLowerCase() !== domain) return undefined;
  return { noticeId: m[2]!.toLowerCase(), token: m[3]!.toLowerCase() };
}
