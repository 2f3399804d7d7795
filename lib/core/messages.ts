import { z } from 'zod';

/**
 * The record of each message sent (a notice, a reminder, a follow-up: its parts, their bytes' hashes, their
 * hand-over) and what a server said when it refused one. Part of the model (model.ts re-exports it).
 */

/** What a server said when it refused one of our messages (see RefusalScope in errors.ts). */
export const Refusal = z.object({
  at: z.string(),
  scope: z.enum(['recipient', 'message', 'policy', 'sender']),
  /** SMTP reply code, or an API's HTTP status */
  code: z.number().int().optional(),
  /** RFC 3463 enhanced status, `5.1.1` */
  enhanced: z.string().max(20).optional(),
  text: z.string().max(300).optional(),
  /** the protocol step (MAIL, RCPT, DATA ...) or the API's error name; `dsn` when a delivery report said it */
  step: z.string().max(60).optional(),
  /** the outbound message it refused */
  outbound: z.string().optional(),
});
export type Refusal = z.infer<typeof Refusal>;

export const OutboundKind = z.enum(['notice', 'reminder', 'followup']);
export type OutboundKind = z.infer<typeof OutboundKind>;

/**
 * One part of an outbound message. A message too big for one piece (a hoster with thousands of indicators) goes
 * as numbered parts of one thread: the same tag and reply token in each, each under the size limit.
 */
export const OutboundPart = z.object({
  /** 1-based */
  index: z.number().int().min(1),
  messageId: z.string(),
  /** the cases it carries: `count` of them from `first` (0-based) in the message's case list (id order) */
  first: z.number().int().min(0),
  count: z.number().int().min(0),
  /** where its bytes are (the MessageStore port): the exact bytes until it is sent, then a copy with every token masked */
  rawKey: z.string(),
  /** sha-256 and length of the exact bytes handed over: what the evidence proves was sent */
  sha256: z.string(),
  bytes: z.number().int().min(0),
  /** sha-256 of the masked copy kept once the part is sent */
  maskedSha256: z.string().optional(),
  state: z.enum(['composed', 'sending', 'sent']),
  attempts: z.number().int().min(0),
  transportId: z.string().optional(),
  sentAt: z.string().optional(),
});
export type OutboundPart = z.infer<typeof OutboundPart>;

/**
 * One message we send (in one or more parts), recorded before the send so a retry resends the same bytes. The
 * bytes themselves live in the MessageStore (a DynamoDB item holds 400 KB; a notice to a big hoster is megabytes).
 */
export const Outbound = z.object({
  /** `<noticeId>.<kind>.<n>` */
  id: z.string(),
  noticeId: z.string(),
  kind: OutboundKind,
  n: z.number().int().min(0),
  /** composed: bytes stored, not handed over; sending: handed to the transport, outcome unknown until sent; sent: every part */
  state: z.enum(['composed', 'sending', 'sent']),
  to: z.string(),
  from: z.string(),
  /** the envelope sender (VERP): every delivery report comes back to it; absent on messages sent before */
  envelopeFrom: z.string().optional(),
  /** part 1's Message-ID */
  messageId: z.string(),
  /** what the transport returned for part 1 (SES rewrites the Message-ID) */
  transportId: z.string().optional(),
  /** the bytes of a message recorded before the message store (one part, kept in the record) */
  raw: z.string().optional(),
  /** sha-256 of part 1's exact bytes */
  sha256: z.string(),
  /** sha-256 of the reply token inside every part */
  tokenHash: z.string().optional(),
  /** sha-256 of the answer-link tokens it carries, masked like the reply token in the stored copy */
  linkTokenHashes: z.array(z.string()).optional(),
  /** every part, part 1 first; absent on a message recorded before parts (its bytes in `raw`) */
  parts: z.array(OutboundPart).optional(),
  /** hand-overs to the transport, refused ones included, all parts together */
  attempts: z.number().int().min(0),
  /** the last refusal of one of its parts */
  refusal: Refusal.optional(),
  /**
   * a hand-over with an unknown outcome (sending) that is not sent again, because its notice ended first (an
   * answer closed it, a coordinator cancelled it) or an answer paused it to resume as sent: whether it arrived is
   * not known; an answer that proves it did (provenDelivered), or a send after all, records it sent
   */
  notResent: z.object({ at: z.string(), noticeState: z.string() }).optional(),
  createdAt: z.string(),
  sentAt: z.string().optional(),
  version: z.number().int().min(1),
});
export type Outbound = z.infer<typeof Outbound>;
