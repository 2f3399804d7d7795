import { AlreadyExistsError, MailRejectedError, TakedownError } from '../../errors.js';
import type { Case, Notice, Outbound, OutboundKind, OutboundPart } from '../../model.js';
import type { Deps, MailDraft, RenderJob } from '../../ports.js';
import { appendEvent } from '../../audit/index.js';
import { parseReplyAddress, REPLY_TOKEN_LENGTH, verpAddress } from '../../routing/index.js';
import { issueAnswerLinks } from '../links.js';
import { refusalOf } from './halt.js';
import type { AnswerLinks, MessagePart } from '../render/render.js';

/**
 * Composing one message of a notice: its secrets (reply token, answer links), its bytes stored before any hand-over,
 * and, when it is bigger than the limit, its parts (see outbound.ts for why parts). A size refusal composes the parts
 * not sent yet again, smaller (resplit).
 */

/** The largest message sent unless configured: Postfix's default message_size_limit. */
export const DEFAULT_MAX_MESSAGE_BYTES = 10_240_000;

// a notice of up to this many cases is composed whole before anything is estimated
const COMPOSE_WHOLE_UP_TO = 200;
// room kept under the limit for what an estimate from a sample cannot see (longer values further down the list)
const HEADROOM = 0.9;

/** What a message is rendered from: its token, its Message-ID, its links, the cases of this part. */
export interface RenderContext {
  readonly token: string;
  readonly messageId: string;
  readonly links?: AnswerLinks;
  readonly cases: readonly Case[];
  /** set when the message goes in several parts */
  readonly part?: MessagePart;
}

/** One message to send: what kind, which number, the cases it is about (split across parts in this order). */
export interface OutboundRequest {
  readonly kind: OutboundKind;
  readonly n: number;
  readonly cases: readonly Case[];
  /** mint one-click answer links for it (when the host has a public URL) */
  readonly links?: boolean;
  /** a size limit smaller than the host's, learned for this notice from a server on the way */
  readonly limit?: number;
  readonly render: (context: RenderContext) => MailDraft;
  /** what `render` renders, as data: given, deps.offload renders and composes it on another thread */
  readonly job?: (context: RenderContext) => RenderJob;
}

/**
 * Marks of the messages composed but not yet handed over, other than first notices (a live notice's workflow sends
 * its own): a reminder or follow-up cut short by a stop, or deferred by a command run with no host, is found and
 * sent at the next start (resendUnsent) even when its notice was closed meanwhile.
 */
export const UNSENT_KIND = 'unsent';

/** The message's size limit on this host. */
export function messageLimit(deps: Pick<Deps, 'settings'>): number {
  return deps.settings.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
}

function replyDomain(deps: Pick<Deps, 'settings'>): string {
  return deps.settings.replyMailbox.slice(deps.settings.replyMailbox.lastIndexOf('@') + 1);
}

function messageIdOf(deps: Pick<Deps, 'settings'>, id: string, index: number): string {
  return index === 1 ? `<${id}@${replyDomain(deps)}>` : `<${id}.p${index}@${replyDomain(deps)}>`;
}

interface Composed {
  readonly draft: MailDraft;
  readonly raw: string;
  readonly index: number;
  readonly first: number;
  readonly count: number;
  readonly messageId: string;
}

interface Secrets {
  readonly token: string;
  readonly links?: AnswerLinks;
}

/**
 * The parts of a message: the whole message when it fits, else slices of the cases sized from a sample so that
 * each composed part stays under `limit`. `firstIndex` and `offset` continue a message whose first parts went.
 */
async function composeParts(
  deps: Deps,
  id: string,
  request: OutboundRequest,
  secrets: Secrets,
  limit: number,
  from: { readonly firstIndex: number; readonly offset: number } = { firstIndex: 1, offset: 0 },
): Promise<Composed[]> {
  const cases = request.cases.slice(from.offset);
  const total = request.cases.length;
  const compose = async (slice: readonly Case[], first: number, index: number, part?: MessagePart): Promise<Composed> => {
    const messageId = messageIdOf(deps, id, index);
    const context = { ...secrets, messageId, cases: slice, ...(part ? { part } : {}) };
    if (deps.offload && request.job) {
      const { draft, raw } = await deps.offload.renderAndCompose(request.job(context));
      return { draft, raw, index, first, count: slice.length, messageId };
    }
    const draft = request.render(context);
    return { draft, raw: await deps.mailer.compose(draft), index, first, count: slice.length, messageId };
  };
  if (from.firstIndex === 1 && cases.length <= COMPOSE_WHOLE_UP_TO) {
    const whole = await compose(cases, 0, 1);
    if (whole.raw.length <= limit) return [whole];
  }
  // bytes per case and per message from two small compositions, then slices that fill a part to the headroom
  const sample = cases.slice(0, Math.min(cases.length, COMPOSE_WHOLE_UP_TO));
  const one = (await compose(sample.slice(0, 1), 0, from.firstIndex)).raw.length;
  const many = sample.length > 1 ? (await compose(sample, 0, from.firstIndex)).raw.length : one;
  const perCase = sample.length > 1 ? Math.max(1, (many - one) / (sample.length - 1)) : one;
  let perPart = Math.max(1, Math.floor((limit * HEADROOM - (one - perCase)) / perCase));
  for (;;) {
    const slices: Case[][] = [];
    for (let i = 0; i < cases.length; i += perPart) slices.push(cases.slice(i, i + perPart));
    const of = from.firstIndex - 1 + slices.length;
    const parts: Composed[] = [];
    let fits = true;
    for (const [k, slice] of slices.entries()) {
      const first = from.offset + k * perPart;
      const index = from.firstIndex + k;
      const part = of > 1 ? { index, of, first: first + 1, last: first + slice.length, total } : undefined;
      const composed = await compose(slice, first, index, part);
      if (composed.raw.length > limit) {
        fits = false;
        break;
      }
      parts.push(composed);
    }
    if (fits) return parts;
    if (perPart === 1) throw new MailRejectedError('one case alone makes a message bigger than the size limit', { scope: 'message', detail: { limit, step: 'compose' } });
    perPart = Math.max(1, Math.floor(perPart * 0.75));
  }
}

/** Stores each part's bytes under a fresh composition and describes them for the record. */
async function storeParts(deps: Deps, id: string, composed: readonly Composed[]): Promise<OutboundPart[]> {
  const composition = deps.ids.newId('m');
  const parts: OutboundPart[] = [];
  for (const c of composed) {
    const rawKey = `${id}/${composition}/p${c.index}.eml`;
    await deps.messages.put(rawKey, c.raw);
    parts.push({ index: c.index, messageId: c.messageId, first: c.first, count: c.count, rawKey, sha256: deps.ids.hash(c.raw), bytes: c.raw.length, state: 'composed', attempts: 0 });
  }
  return parts;
}

async function forget(deps: Deps, parts: readonly OutboundPart[]): Promise<void> {
  for (const p of parts) await deps.messages.delete(p.rawKey);
}

async function mintSecrets(deps: Deps, notice: Notice, request: OutboundRequest): Promise<Secrets> {
  const token = deps.ids.newToken().slice(0, REPLY_TOKEN_LENGTH);
  // minted once, with the bytes: a resend of the same bytes carries the same links
  const links = request.links && deps.settings.publicUrl ? await issueAnswerLinks(deps, notice) : undefined;
  return { token, ...(links ? { links } : {}) };
}

function linkHashes(deps: Deps, links: AnswerLinks | undefined): string[] | undefined {
  if (!links) return undefined;
  return [links.acknowledge, links.actioned, links.notOurs].map((url) => deps.ids.hash(url.slice(url.lastIndexOf('/') + 1)));
}

export async function composeOutbound(deps: Deps, notice: Notice, id: string, request: OutboundRequest): Promise<Outbound> {
  const secrets = await mintSecrets(deps, notice, request);
  const composed = await composeParts(deps, id, request, secrets, Math.min(messageLimit(deps), request.limit ?? Infinity));
  const parts = await storeParts(deps, id, composed);
  const first = composed[0]!;
  // the mark before the record: a record never exists without it, a mark without a record is dropped at start
  if (request.kind !== 'notice') await deps.store.putRecord({ kind: UNSENT_KIND, key: id, value: JSON.stringify({ noticeId: notice.id }), version: 1 });
  const record: Outbound = {
    id,
    noticeId: notice.id,
    kind: request.kind,
    n: request.n,
    state: 'composed',
    to: first.draft.to,
    from: first.draft.from,
    envelopeFrom: verpAddress(deps.settings.replyMailbox, notice.id, secrets.token),
    messageId: first.messageId,
    sha256: parts[0]!.sha256,
    tokenHash: deps.ids.hash(secrets.token),
    ...(secrets.links ? { linkTokenHashes: linkHashes(deps, secrets.links) } : {}),
    parts,
    attempts: 0,
    createdAt: deps.clock.now().toISOString(),
    version: 1,
  };
  try {
    await deps.store.createOutbound(record);
    return record;
  } catch (e) {
    if (!(e instanceof AlreadyExistsError)) throw e;
    // another attempt composed it first: its bytes are the message; ours were never anybody's
    await forget(deps, parts);
    return (await deps.store.getOutbound(id))!;
  }
}

/** The reply token a message's unsent part carries (in its Reply-To), to continue the message in new parts. */
async function tokenOf(deps: Deps, out: Outbound): Promise<string> {
  for (const part of out.parts!) {
    if (part.state === 'sent') continue;
    const raw = await deps.messages.get(part.rawKey);
    const replyTo = raw && /^reply-to:[ \t]*(.+)$/im.exec(raw.slice(0, raw.search(/\r\n\r\n/)))?.[1];
    const address = replyTo && (/<([^>]+)>/.exec(replyTo)?.[1] ?? replyTo.trim());
    const token = address ? parseReplyAddress(deps.settings.replyMailbox, address)?.token : undefined;
    if (token && out.tokenHash && deps.ids.tokenMatches(token, out.tokenHash)) return token;
  }
  throw new TakedownError('MESSAGE.LOST', `the reply token of ${out.id} cannot be read back from its unsent parts`);
}

/**
 * A server refused a part for its size: the parts not sent yet are composed again, smaller. A message none of
 * whose parts went gets new secrets (nobody has the old ones); one that is half out keeps its reply token.
 */
export async function resplit(deps: Deps, notice: Notice, out: Outbound, request: OutboundRequest, refusal: MailRejectedError): Promise<Outbound> {
  const unsent = out.parts!.filter((p) => p.state !== 'sent');
  const biggest = Math.max(...unsent.map((p) => p.bytes));
  const limit = Math.floor(Math.min(messageLimit(deps), refusal.detail.limit ? refusal.detail.limit * 0.95 : biggest / 2, biggest * 0.9));
  const sent = out.parts!.filter((p) => p.state === 'sent');
  const secrets: Secrets = sent.length ? { token: await tokenOf(deps, out) } : await mintSecrets(deps, notice, request);
  const from = sent.length ? { firstIndex: unsent[0]!.index, offset: unsent[0]!.first } : { firstIndex: 1, offset: 0 };
  const composed = await composeParts(deps, out.id, request, secrets, limit, from);
  const parts = [...sent, ...(await storeParts(deps, out.id, composed))];
  const next: Outbound = {
    ...out,
    parts,
    state: 'composed',
    messageId: parts[0]!.messageId,
    sha256: parts[0]!.sha256,
    ...(sent.length
      ? {}
      : {
          tokenHash: deps.ids.hash(secrets.token),
          envelopeFrom: verpAddress(deps.settings.replyMailbox, notice.id, secrets.token),
          linkTokenHashes: linkHashes(deps, secrets.links),
        }),
    version: out.version + 1,
  };
  await deps.store.saveOutbound(next);
  await forget(deps, unsent);
  await appendEvent(deps, {
    campaignId: notice.campaignId,
    noticeId: notice.id,
    type: 'message.resized',
    actor: 'system',
    data: { outbound: out.id, refusal: refusalOf(deps, refusal, out.id), limit, parts: parts.length, partsSent: sent.length },
  });
  return next;
}
