import { normaliseEmail } from './extract.js';

/**
 * security.txt (RFC 9116) of a party's own domain: the contact an operator publishes for security reports.
 * Asked of the party (the hosting company, the registrar), never of the indicator's host: a criminal's site
 * would happily name a mailbox that tips them off.
 */

export interface SecurityTxt {
  /** mailboxes of its Contact fields, in the file's order (the order of preference) */
  readonly emails: readonly string[];
  readonly url: string;
  /** the file's Expires, when given */
  readonly expires?: string;
}

export interface SecurityTxtOptions {
  /** injectable: tests serve the file from a loopback server */
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

/** The mailboxes and expiry of a security.txt text; an expired file gives no mailbox. */
export function parseSecurityTxt(text: string, now: Date): { emails: string[]; expires?: string; expired: boolean } {
  const emails: string[] = [];
  let expires: string | undefined;
  // a signed file wraps the fields in an OpenPGP cleartext frame; the field lines read the same
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^- /, '').trim();
    const m = /^([A-Za-z-]+):\s*(.+)$/.exec(line);
    if (!m) continue;
    const field = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    if (field === 'contact') {
      const email = /^mailto:/i.test(value) ? normaliseEmail(decodeURIComponent(value.replace(/^mailto:/i, '').split('?')[0]!)) : undefined;
      if (email && !emails.includes(email)) emails.push(email);
    } else if (field === 'expires') {
      expires ??= value;
    }
  }
  const expired = expires !== undefined && Number.isFinite(Date.parse(expires)) && Date.parse(expires) < now.getTime();
  return { emails: expired ? [] : emails, ...(expires ? { expires } : {}), expired };
}

/**
 * Fetches `https://<domain>/.well-known/security.txt` (then `/security.txt`, the legacy place). Undefined
 * when there is none, it cannot be fetched, or it has no mailbox in force.
 */
export async function fetchSecurityTxt(domain: string, now: Date, options: SecurityTxtOptions = {}): Promise<SecurityTxt | undefined> {
  const fetchFn = options.fetch ?? fetch;
  for (const path of ['/.well-known/security.txt', '/security.txt']) {
    const url = `https://${domain}${path}`;
    let text: string;
    try {
      const res = await fetchFn(url, { redirect: 'follow', signal: AbortSignal.timeout(options.timeoutMs ?? 5000), headers: { accept: 'text/plain' } });
      if (!res.ok || !/text\/plain/i.test(res.headers.get('content-type') ?? 'text/plain')) {
        await res.body?.cancel();
        continue;
      }
      text = (await res.text()).slice(0, 32 * 1024);
    } catch {
      continue;
    }
    const parsed = parseSecurityTxt(text, now);
    if (parsed.emails.length) return { emails: parsed.emails, url, ...(parsed.expires ? { expires: parsed.expires } : {}) };
  }
  return undefined;
}
