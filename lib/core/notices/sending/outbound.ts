import { MailRejectedError, MailTransientError, SendingHaltedError, StaleWriteError, TakedownError } from '../../errors.js';
import type { Notice, Outbound, OutboundPart } from '../../model.js';
import type { Deps } from '../../ports.js';
import { appendEvent } from '../../audit/index.js';
import { updateNotice } from '../../updates.js';
import { maskTokens } from './masking.js';
import { haltSending, liftHalt, refusalOf } from './halt.js';
import { rememberTransportId } from './transport-ids.js';
import { composeOutbound, resplit, UNSENT_KIND, type OutboundRequest } from './compose.js';

export { DEFAULT_MAX_MESSAGE_BYTES, messageLimit, UNSENT_KIND, type OutboundRequest, type RenderContext } from './compose.js';

/**
 * Sending one message of a notice exactly once, whatever its size.
 *
 * The exact bytes are stored (the MessageStore port) before the hand-over, so a retry sends nothing when the first
 * attempt got through, and the same bytes (same Message-ID, tag and token) when its outcome is unknown (a crash
 * between the transport's acceptance and the "sent" record): that part is `uncertain`, recorded as such, and
 * resolved by resending, which at worst delivers it twice under one Message-ID. Once a part is sent, the stored
 * copy is replaced by one with every token masked; the sha-256 of what went out stays in the record and the trail.
 *
 * A message bigger than the limit (10 MB by default, Postfix's; or less when a server on the way says so) goes as
 * numbered parts of one thread: each carries a slice of the cases, the same tag and the same reply token, and
 * says "part k of n". Parts rather than a compressed archive: every part stays a notice a desk can act on, an
 * XARF-reading ticket system still finds one report per indicator, and mail gateways that hold archives from
 * unknown senders do not hold it.
 */

// a size refusal is answered with smaller parts this many times before a person is asked to look
const MAX_RESPLITS = 4;

/** A record from before the message store kept its bytes inline: they move to the store, as part 1 of 1. */
async function migrated(deps: Deps, out: Outbound): Promise<Outbound> {
  if (out.parts || out.raw === undefined) return out;
  const rawKey = `${out.id}/legacy/p1.eml`;
  await deps.messages.put(rawKey, out.raw);
  const part: OutboundPart = {
    index: 1,
    messageId: out.messageId,
    first: 0,
    count: 0,
    rawKey,
    sha256: out.sha256,
    bytes: out.raw.length,
    state: out.state,
    attempts: out.attempts,
    ...(out.transportId ? { transportId: out.transportId } : {}),
    ...(out.sentAt ? { sentAt: out.sentAt } : {}),
  };
  const moved: Outbound = { ...out, raw: undefined, parts: [part], version: out.version + 1 };
  await deps.store.saveOutbound(moved);
  return moved;
}

function withPart(out: Outbound, part: OutboundPart, extra: Partial<Outbound> = {}): Outbound {
  const parts = out.parts!.map((p) => (p.index === part.index ? part : p));
  const first = parts[0]!;
  const state = parts.every((p) => p.state === 'sent') ? 'sent' : parts.some((p) => p.state === 'sending') ? 'sending' : 'composed';
  // a message its notice's end left unresent, known to be sent after all (proven, or sent again on a resume)
  const { notResent: _unknownUntilNow, ...kept } = out;
  return {
    ...(state === 'sent' ? kept : out),
    ...extra,
    parts,
    state,
    attempts: parts.reduce((n, p) => n + p.attempts, 0),
    ...(first.transportId ? { transportId: first.transportId } : {}),
    ...(state === 'sent' ? { sentAt: out.sentAt ?? part.sentAt } : {}),
    version: out.version + 1,
  };
}

/** Hands over every part not sent yet, in order; returns the record with each part's outcome. */
async function sendParts(deps: Deps, notice: Notice, start: Outbound): Promise<Outbound> {
  let out = start;
  for (const part of start.parts!) {
    if (part.state === 'sent') continue;
    if (part.state === 'sending') {
      await appendEvent(deps, {
        campaignId: notice.campaignId,
        noticeId: notice.id,
        type: 'message.uncertain',
        actor: 'system',
        data: { outbound: out.id, part: part.index, attempts: part.attempts, resolution: 'resend the same bytes' },
      });
      if (out.kind === 'notice') await updateNotice(deps, notice.id, (cur) => (cur.state === 'sent' ? undefined : { ...cur, state: 'uncertain' }));
    }
    const raw = await deps.messages.get(part.rawKey);
    // never send other bytes than the ones recorded: a lost or altered copy is a fault to see, not to paper over
    if (raw === undefined || deps.ids.hash(raw) !== part.sha256) {
      throw new TakedownError('MESSAGE.LOST', `the stored bytes of ${out.id} part ${part.index} are missing or altered; nothing was sent`);
    }
    const handing: OutboundPart = { ...part, state: 'sending', attempts: part.attempts + 1 };
    out = withPart(out, handing);
    await deps.store.saveOutbound(out);
    let sent;
    try {
      sent = await deps.mailer.sendRaw({ from: out.envelopeFrom ?? out.from, to: out.to, size: raw.length }, raw);
    } catch (e) {
      if ((e instanceof MailTransientError && !e.maybeDelivered) || e instanceof MailRejectedError) {
        // the transport refused it: nothing went out, so the next attempt is a first send, not an uncertain one
        out = withPart(out, { ...handing, state: 'composed' });
        await deps.store.saveOutbound(out);
      }
      throw e;
    }
    if (sent.deferred) {
      // no host to send it: it stays composed, marked, for the next one
      out = withPart(out, { ...handing, state: 'composed', attempts: part.attempts });
      await deps.store.saveOutbound(out);
      return out;
    }
    const masked = maskTokens(raw).masked;
    const maskedKey = maskedKeyOf(part.rawKey);
    await deps.messages.put(maskedKey, masked);
    const done: OutboundPart = {
      ...handing,
      state: 'sent',
      rawKey: maskedKey,
      maskedSha256: deps.ids.hash(masked),
      transportId: sent.transportId,
      sentAt: deps.clock.now().toISOString(),
    };
    out = withPart(out, done);
    await deps.store.saveOutbound(out);
    // the exact bytes held working tokens: only the masked copy stays
    await deps.messages.delete(part.rawKey);
    // SES rewrites the Message-ID and reports bounces and complaints by its own id: keep the way back to the notice
    // (a relay that keeps ours needs nothing: replies and reports quote the Message-ID we stored)
    if (sent.transportId && sent.transportId !== part.messageId) await rememberTransportId(deps, sent.transportId, notice.id, out.id);
    await appendEvent(deps, {
      campaignId: notice.campaignId,
      noticeId: notice.id,
      type: 'message.sent',
      actor: 'system',
      data: {
        outbound: out.id,
        kind: out.kind,
        to: out.to,
        messageId: part.messageId,
        transportId: sent.transportId,
        sha256: part.sha256,
        maskedSha256: done.maskedSha256,
        bytes: part.bytes,
        attempts: done.attempts,
        destination: sent.destination,
        ...(out.parts!.length > 1 ? { part: part.index, of: out.parts!.length } : {}),
      },
    });
  }
  return out;
}

/** Records a refusal on the message, the notice and the trail; a refusal of our own account halts sending. */
async function recordRefusal(deps: Deps, notice: Notice, out: Outbound, error: MailRejectedError): Promise<Error> {
  const refusal = refusalOf(deps, error, out.id);
  const latest = (await deps.store.getOutbound(out.id)) ?? out;
  await deps.store.saveOutbound({ ...latest, refusal, version: latest.version + 1 });
  await updateNotice(deps, notice.id, (cur) => ({ ...cur, refusal }));
  await appendEvent(deps, { campaignId: notice.campaignId, noticeId: notice.id, type: 'message.refused', actor: 'system', data: { outbound: out.id, kind: out.kind, refusal } });
  if (error.scope === 'sender') {
    await haltSending(deps, notice, refusal);
    return new SendingHaltedError(`sending is halted: ${error.message}`, { cause: error, detail: error.detail });
  }
  return error;
}

/**
 * Send one message of a notice exactly once (see above). Returns the record once every part was handed over.
 * MailRejectedError when a server refused it for good (its `scope` says whose fault: see RefusalScope);
 * SendingHaltedError when our own account or relay refuses us.
 */
export async function sendOutbound(deps: Deps, notice: Notice, request: OutboundRequest): Promise<Outbound> {
  const id = `${notice.id}.${request.kind}.${request.n}`;
  let out = await migrated(deps, (await deps.store.getOutbound(id)) ?? (await composeOutbound(deps, notice, id, request)));
  if (out.state === 'sent') return out;
  for (let resplits = 0; ; resplits++) {
    try {
      out = await sendParts(deps, notice, out);
      break;
    } catch (e) {
      if (!(e instanceof MailRejectedError)) throw e;
      if (e.scope === 'message' && resplits < MAX_RESPLITS) {
        out = await resplit(deps, notice, (await deps.store.getOutbound(id)) ?? out, request, e);
        continue;
      }
      throw await recordRefusal(deps, notice, out, e);
    }
  }
  if (out.state !== 'sent') return out;
  if (out.kind !== 'notice') await deps.store.deleteRecord(UNSENT_KIND, out.id);
  await liftHalt(deps, notice);
  return out;
}

/**
 * A message whose hand-over had an unknown outcome (left sending) is proven delivered by an answer carrying a secret
 * only it held: a reply to its reply address, a report to its envelope sender, one of its one-click links. It is
 * recorded sent as it stands and never resent (the resend an unknown outcome calls for would be a duplicate, or, for
 * a notice the answer closed, a send after its close). A message in several parts proves nothing by its token: any
 * part carries it. Returns whether it changed anything.
 */
export async function provenDelivered(deps: Deps, outboundId: string, proof: string): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    const out = await deps.store.getOutbound(outboundId);
    const part = out?.parts?.length === 1 ? out.parts[0]! : undefined;
    const notice = out && (await deps.store.getNotice(out.noticeId));
    if (!out || !part || part.state !== 'sending' || !notice) return false;
    const raw = await deps.messages.get(part.rawKey);
    if (raw === undefined) {
      // masked meanwhile (maskUnresent: its record saved, then the exact bytes removed): read the record again
      if (attempt < 3) continue;
      return false;
    }
    // a message its notice's end left unresent has only its masked copy left (maskUnresent)
    const masked = part.maskedSha256 ? raw : maskTokens(raw).masked;
    const maskedKey = maskedKeyOf(part.rawKey);
    if (!part.maskedSha256) await deps.messages.put(maskedKey, masked);
    const sentAt = deps.clock.now().toISOString();
    const done: OutboundPart = { ...part, state: 'sent', rawKey: maskedKey, maskedSha256: deps.ids.hash(masked), sentAt };
    try {
      await deps.store.saveOutbound(withPart(out, done));
    } catch (e) {
      // saved in between: by a resend (read again, it is no longer 'sending') or by the mark of a notice that
      // ended (read again, it still is, and this proof settles it)
      if (!(e instanceof StaleWriteError)) throw e;
      if (attempt < 3) continue;
      return false;
    }
    await recordProven(deps, out, part, done, notice, proof);
    return true;
  }
}

/** Where a part's copy with every token masked is kept: beside its exact bytes, under the same key. */
function maskedKeyOf(rawKey: string): string {
  return rawKey.endsWith('.masked.eml') ? rawKey : rawKey.replace(/\.eml$/, '.masked.eml');
}

/** Where a part's exact bytes were kept, from either key. */
function exactKeyOf(key: string): string {
  return key.replace(/\.masked\.eml$/, '.eml');
}

/**
 * A message its notice's end leaves unsent (see leaveUnresent) keeps no working token at rest: its hand-over
 * uncertain (notResent), or composed and never handed over, each part not sent is replaced by its masked copy, as a
 * sent one is. Nothing sends it again, since its notice ended; whether a part handed over arrived stays unknown (it
 * stays 'sending', with the sha-256 of the bytes handed over), and an answer that proves it did (provenDelivered)
 * still records it sent. Done again by the send step's retry until it holds: exact bytes a crash left beside their
 * masked copy are removed then.
 */
export async function maskUnresent(deps: Deps, outboundId: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const out = await deps.store.getOutbound(outboundId);
    if (!out?.parts || out.state === 'sent' || (!out.notResent && out.state !== 'composed')) return deps.store.deleteRecord(UNMASKED_KIND, outboundId);
    // masked before: the exact bytes go (a crash may have come between the record and their removal)
    for (const part of out.parts) if (part.state !== 'sent' && part.maskedSha256) await deps.messages.delete(exactKeyOf(part.rawKey));
    const left = out.parts.filter((p) => p.state !== 'sent' && !p.maskedSha256);
    if (!left.length) return deps.store.deleteRecord(UNMASKED_KIND, outboundId);
    // a kill from here on leaves it to the sweep (finishUnmasked), the notice's own step may never run again
    await markUnmasked(deps, out);
    const masked = new Map<number, OutboundPart>();
    for (const part of left) {
      const raw = await deps.messages.get(part.rawKey);
      if (raw === undefined) continue;
      const copy = maskTokens(raw).masked;
      const maskedKey = maskedKeyOf(part.rawKey);
      await deps.messages.put(maskedKey, copy);
      masked.set(part.index, { ...part, rawKey: maskedKey, maskedSha256: deps.ids.hash(copy) });
    }
    try {
      await deps.store.saveOutbound({ ...out, parts: out.parts.map((p) => masked.get(p.index) ?? p), version: out.version + 1 });
    } catch (e) {
      // saved in between (a proof of delivery, which masks it itself): read it again
      if (e instanceof StaleWriteError) continue;
      throw e;
    }
    for (const part of left) if (masked.has(part.index)) await deps.messages.delete(part.rawKey);
    return deps.store.deleteRecord(UNMASKED_KIND, outboundId);
  }
}

/**
 * The records of the messages whose copy is to be masked (maskUnresent), kept from before the mark that nothing
 * will send them until the masking ends: a kill in between leaves one, and the sweep and every start finish it
 * (finishUnmasked), since a notice that ended runs no step of its own again.
 */
export const UNMASKED_KIND = 'unmasked';

/** How long a masking may take before the sweep takes it over: longer than any function that sends runs. */
export const UNMASKED_AFTER_MS = 10 * 60_000;

/** Marks a message as one whose copy is to be masked (see UNMASKED_KIND). */
export function markUnmasked(deps: Deps, out: Pick<Outbound, 'id' | 'noticeId'>): Promise<void> {
  return deps.store.putRecord({ kind: UNMASKED_KIND, key: out.id, value: JSON.stringify({ noticeId: out.noticeId, at: deps.clock.now().toISOString() }), version: 1 });
}

async function recordProven(deps: Deps, out: Outbound, part: OutboundPart, done: OutboundPart, notice: Notice, proof: string): Promise<void> {
  const sentAt = done.sentAt!;
  if (part.rawKey !== done.rawKey) await deps.messages.delete(part.rawKey);
  if (out.kind !== 'notice') await deps.store.deleteRecord(UNSENT_KIND, out.id);
  // a notice its answers closed before the resend went out was sent all the same: when, as far as we know
  if (out.kind === 'notice') await updateNotice(deps, notice.id, (cur) => (cur.sentAt ? undefined : { ...cur, sentAt }));
  await appendEvent(deps, {
    campaignId: notice.campaignId,
    noticeId: notice.id,
    type: 'message.sent',
    actor: 'system',
    data: { outbound: out.id, kind: out.kind, to: out.to, messageId: part.messageId, sha256: part.sha256, maskedSha256: done.maskedSha256, bytes: part.bytes, attempts: part.attempts, proof },
  });
}

/**
 * At a host's start: send the reminders and follow-ups a stop cut short or a command deferred, as stored (the same
 * bytes, the same Message-IDs). Returns how many went out; one that fails stays marked for the next start.
 * `owned` names the messages a running execution is sending itself: they are left to it, since a second sender
 * would find its hand-over in progress and take it for one a crash left (uncertain), and send it again.
 */
export async function resendUnsent(deps: Deps, owned?: (out: Outbound, notice: Notice) => Promise<boolean>): Promise<number> {
  let sent = 0;
  let after: string | undefined;
  do {
    const page = await deps.store.listRecords(UNSENT_KIND, { after, limit: 500 });
    for (const { key } of page.items) {
      const out = await deps.store.getOutbound(key);
      const notice = out && (await deps.store.getNotice(out.noticeId));
      if (!out || !notice || out.state === 'sent') {
        await deps.store.deleteRecord(UNSENT_KIND, key);
        continue;
      }
      if (owned && (await owned(out, notice))) continue;
      try {
        const done = await sendParts(deps, notice, await migrated(deps, out));
        if (done.state === 'sent') {
          await deps.store.deleteRecord(UNSENT_KIND, key);
          sent++;
        }
      } catch (e) {
        if (e instanceof MailRejectedError) await recordRefusal(deps, notice, out, e).catch(() => undefined);
        deps.log.warn('could not send a message left unsent; it stays for the next start', { outbound: key, error: (e as Error).name });
      }
    }
    after = page.next;
  } while (after);
  return sent;
}
