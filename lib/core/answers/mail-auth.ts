import type { MailClass } from './mail/classify.js';
import type { Notice, Party } from '../model.js';
import type { Deps, InboundMail, MailAuthVerdicts } from '../ports.js';

/**
 * Is an inbound message really from the notice's recipient? The reply token proves the writer saw the notice, not
 * that the writer is its recipient: a notice forwarded to the wrong person, or a token leaked with it, must not
 * close a case. A matched message is **suspicious** (kept for review, never applied) when
 *  - an authentication check fails (see `authFailure`), or
 *  - it is an answer (human or automatic) whose From domain does not fit the contact (see `senderFits`).
 * Bounces skip the domain test: they come from whichever MTA handled the contact's mail (a mailbox provider's
 * mailer-daemon), and applyBounce already insists the failed recipient be the contact. A human answer without the
 * token is held as `unverified` by receiveMail whatever its sender; an automatic reply is tested however it matched,
 * since one matched by the public tag alone would otherwise mark cases received.
 */

/**
 * The DNS port mailauth's checks go through (its `resolver` option): like node's `dns.promises.resolve`, answers
 * TXT as string[][], MX as {exchange, priority}[], A/AAAA as string[]; a missing name or record is an error with
 * `code` ENOTFOUND or ENODATA. Tests answer from a table; the embedded host uses node's resolver only when told to.
 */
export type MailAuthResolver = (name: string, rrtype: string) => Promise<unknown[]>;

/** The part of mailauth's `authenticate()` result the verdicts are read from. */
export interface MailauthResultShape {
  readonly spf?: { readonly status?: { readonly result?: string } } | false;
  readonly dkim?: {
    readonly results?: readonly { readonly signingDomain?: string; readonly status?: { readonly result?: string; readonly aligned?: string | boolean } }[];
  };
  readonly dmarc?: { readonly status?: { readonly result?: string }; readonly policy?: string } | false;
}

/** The verdicts of a mailauth result. DKIM speaks of the signatures aligned with the From domain only. */
export function verdictsFromMailauth(result: MailauthResultShape): MailAuthVerdicts {
  const norm = (v: string | undefined): string | undefined => (v === 'temperr' ? 'temperror' : v?.toLowerCase());
  const signatures = (result.dkim?.results ?? []).filter((r) => r.signingDomain);
  const aligned = signatures.filter((r) => r.status?.aligned);
  const results = aligned.map((r) => norm(r.status?.result));
  // a passing aligned signature wins over a broken second one (a list footer, a resigning gateway)
  const dkim = results.includes('pass') ? 'pass' : results.includes('fail') ? 'fail' : (results[0] ?? 'none');
  const dmarc = result.dmarc ? norm(result.dmarc.status?.result) : undefined;
  return {
    spf: result.spf ? norm(result.spf.status?.result) : undefined,
    dkim,
    dmarc,
    dmarcPolicy: dmarc === 'fail' && result.dmarc ? result.dmarc.policy?.toLowerCase() : undefined,
    by: 'mailauth',
  };
}

/** The `receipt` of an SES receiving event (Lambda action, SNS notification). */
export interface SesReceiptShape {
  readonly spfVerdict?: { readonly status?: string };
  readonly dkimVerdict?: { readonly status?: string };
  readonly dmarcVerdict?: { readonly status?: string };
  readonly dmarcPolicy?: string;
  readonly spamVerdict?: { readonly status?: string };
  readonly virusVerdict?: { readonly status?: string };
}

// SES: GRAY is "not checked / no record", PROCESSING_FAILED a temporary error, DISABLED a scan switched off
const SES_STATUS: Readonly<Record<string, string | undefined>> = { PASS: 'pass', FAIL: 'fail', GRAY: 'none', PROCESSING_FAILED: 'temperror', DISABLED: undefined };

function sesStatus(status: string | undefined): string | undefined {
  return status === undefined ? undefined : SES_STATUS[status.toUpperCase()];
}

/** The verdicts SES reached when it received the message, from the receipt of its event. */
export function verdictsFromSesReceipt(receipt: SesReceiptShape): MailAuthVerdicts {
  const dmarc = sesStatus(receipt.dmarcVerdict?.status);
  return {
    spf: sesStatus(receipt.spfVerdict?.status),
    dkim: sesStatus(receipt.dkimVerdict?.status),
    dmarc,
    // SES sets dmarcPolicy only when DMARC failed
    dmarcPolicy: dmarc === 'fail' ? receipt.dmarcPolicy?.toLowerCase() : undefined,
    spam: sesStatus(receipt.spamVerdict?.status),
    virus: sesStatus(receipt.virusVerdict?.status),
    by: 'ses',
  };
}

/**
 * The verdicts SES wrote into a message it stored (S3 action): `X-SES-Spam-Verdict`, `X-SES-Virus-Verdict` and
 * its `Authentication-Results: amazonses.com; spf=…; dkim=…; dmarc=…`. SES prepends its headers, so only the
 * topmost of each is SES's; one lower down may be the sender's own forgery. Undefined when SES wrote none.
 */
export function verdictsFromSesHeaders(headers: Readonly<Record<string, string>>): MailAuthVerdicts | undefined {
  const first = (name: string): string | undefined => headers[name]?.split('\n')[0]?.trim();
  const spam = first('x-ses-spam-verdict');
  const virus = first('x-ses-virus-verdict');
  const results = first('authentication-results');
  const ours = results !== undefined && /^amazonses\.com\s*;/i.test(results) ? results : undefined;
  if (spam === undefined && virus === undefined && ours === undefined) return undefined;
  const method = (name: string): string | undefined => (ours ? new RegExp(`(?:^|;)\\s*${name}\\s*=\\s*([a-z]+)`, 'i').exec(ours)?.[1]?.toLowerCase() : undefined);
  return { spf: method('spf'), dkim: method('dkim'), dmarc: method('dmarc'), spam: sesStatus(spam), virus: sesStatus(virus), by: 'ses-headers' };
}

/**
 * Why the verdicts make a message suspicious, or undefined. Only a failing verdict counts; `none`, `neutral`,
 * `temperror`, `permerror` say that nothing could be proved, and a missing proof is the normal case for small
 * abuse desks (the token and the sender's domain still stand guard):
 *  - DMARC pass: an identifier aligned with the From domain passed; an SPF fail (a forward) or a broken second
 *    signature then proves nothing, and nothing else is looked at;
 *  - DMARC fail under `p=reject` or `p=quarantine` (the effective policy, `sp` for a subdomain): the domain's owner
 *    says such mail is not theirs. Under `p=none` the owner is only monitoring and legitimate mail often fails, so
 *    that alone is not enough. A failure whose policy is unknown (SES headers carry none) counts;
 *  - otherwise a DKIM `fail` (a signature of the From domain that does not verify: mailauth reports a body changed
 *    in transit as `neutral`) or an SPF `fail` (`-all`: the envelope domain forbids this client). SPF `softfail`
 *    (`~all`) is the owner saying "probably not, accept it", so it does not count;
 *  - a receiving service's virus or spam verdict `fail` (SES's scans).
 */
export function authFailure(v: MailAuthVerdicts): string | undefined {
  const by = v.by ? ` (${v.by})` : '';
  if (v.virus === 'fail') return `the virus scan failed${by}`;
  if (v.spam === 'fail') return `the spam scan failed${by}`;
  if (v.dmarc === 'pass') return undefined;
  if (v.dmarc === 'fail') {
    if (v.dmarcPolicy === 'reject' || v.dmarcPolicy === 'quarantine') return `DMARC fail under the From domain's p=${v.dmarcPolicy}${by}`;
    if (v.dmarcPolicy === undefined) return `DMARC fail, the From domain's policy unknown${by}`;
  }
  if (v.dkim === 'fail') return `a DKIM signature of the From domain failed${by}`;
  if (v.spf === 'fail') return `SPF fail: the envelope domain does not allow the sending host${by}`;
  return undefined;
}

// mailboxes anyone can open: a contact there fits only its own address, never the whole domain
const SHARED_MAIL_DOMAINS = new Set([
  'gmail.com', 'googlemail.com', 'outlook.com', 'hotmail.com', 'live.com', 'msn.com', 'yahoo.com', 'ymail.com', 'aol.com',
  'icloud.com', 'me.com', 'proton.me', 'protonmail.com', 'gmx.com', 'gmx.net', 'gmx.de', 'mail.com', 'mail.ru', 'yandex.ru',
  'yandex.com', 'zoho.com', 'web.de', 'orange.fr', 'laposte.net', 'free.fr', 'qq.com', '163.com', 'rediffmail.com',
]);

/** The domain of a mail address, lower case, however it is written (`Desk <abuse@Hoster.example.>` -> `hoster.example`). */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).replace(/>\s*$/, '').trim().toLowerCase().replace(/\.$/, '');
}

function within(domain: string, parent: string): boolean {
  return domain === parent || domain.endsWith(`.${parent}`);
}

/**
 * Does the From address fit the party the notice went to? Yes for the contact itself; for the contact's domain and
 * its subdomains; for any domain under the contact's registrable domain (a desk answering `abuse@hoster.example`
 * from `noreply@tickets.hoster.example`, or `abuse@mail.hoster.co.uk` from `desk@hoster.co.uk`); and for the
 * domains the directory lists for the party (a hosted ticket system). A contact at a shared mailbox provider
 * (gmail.com ...) fits its own address only. Without `registrableDomain` only the contact's domain and below fit.
 */
export function senderFits(
  from: string | undefined,
  party: Pick<Party, 'email' | 'answerDomains'>,
  registrableDomain?: (host: string) => string | undefined,
): { fits: boolean; why: string } {
  if (!from || !from.includes('@')) return { fits: false, why: 'the answer has no From address' };
  const sender = from.trim().toLowerCase();
  const contact = party.email.trim().toLowerCase();
  if (sender === contact) return { fits: true, why: 'the contact itself' };
  const senderDomain = domainOf(sender);
  const contactDomain = domainOf(contact);
  const misfit = { fits: false, why: `the sender's domain ${senderDomain} does not fit the contact's domain ${contactDomain}` };
  if (SHARED_MAIL_DOMAINS.has(contactDomain)) return { ...misfit, why: `${misfit.why} (a shared mailbox provider: only the contact's own address fits)` };
  if (within(senderDomain, contactDomain)) return { fits: true, why: `the contact's domain ${contactDomain}` };
  const site = registrableDomain?.(contactDomain);
  if (site && within(senderDomain, site)) return { fits: true, why: `the contact's registrable domain ${site}` };
  const listed = (party.answerDomains ?? []).map((d) => d.toLowerCase()).find((d) => within(senderDomain, d));
  if (listed) return { fits: true, why: `a domain the directory lists for the party (${listed})` };
  return misfit;
}

/** What was found out about who sent a message matched to a notice. */
export interface SenderCheck {
  /** the verdicts the receiving service left on the message, else the ones `deps.mailAuth` reached; `{}`: not checked */
  readonly verdicts: MailAuthVerdicts;
  /** why the message is suspicious (a failed check, a From outside the contact's domain), or undefined */
  readonly suspicion?: string;
}

/**
 * Who sent a message matched to `notice`: its verdicts, and why it is suspicious, if it is. Uses the verdicts the
 * receiving service left on the message, else asks `deps.mailAuth`; a check that breaks counts as not checked.
 * Reports are not checked (they go to review as they are); bounces skip the domain test (see above).
 */
export async function checkSender(deps: Pick<Deps, 'mailAuth' | 'log'>, mail: InboundMail, notice: Notice, mailClass: MailClass): Promise<SenderCheck> {
  if (mailClass === 'report') return { verdicts: mail.auth ?? {} };
  let verdicts: MailAuthVerdicts = mail.auth ?? {};
  if (!mail.auth && deps.mailAuth) {
    try {
      verdicts = await deps.mailAuth.check(mail);
    } catch (e) {
      deps.log.warn('the mail authentication check failed; taken as not checked', { messageId: mail.messageId, error: (e as Error).name });
    }
  }
  const failure = authFailure(verdicts);
  if (failure) return { verdicts, suspicion: failure };
  if (mailClass === 'bounce') return { verdicts };
  const fit = senderFits(mail.from, notice.party, deps.mailAuth ? (h) => deps.mailAuth!.registrableDomain(h) : undefined);
  return fit.fits ? { verdicts } : { verdicts, suspicion: fit.why };
}
