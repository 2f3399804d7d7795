import { isUtf8 } from 'node:buffer';
import { simpleParser } from 'mailparser';
import type { AddressObject, EmailAddress, HeaderValue, ParsedMail, StructuredHeader } from 'mailparser';
import type { InboundMail } from '../../core/ports.js';

/** Parses raw inbound mail; `envelopeTo` (the SMTP RCPT TO addresses) joins the To and Cc addresses in `to`. */
export async function parseMail(raw: string | Buffer, envelopeTo: readonly string[] = []): Promise<InboundMail> {
  const parsed = await simpleParser(raw, {
    // nothing here renders HTML: skip the work and the data: URLs
    skipTextToHtml: true,
    skipImageLinks: true,
    skipTextLinks: true,
    keepCidLinks: true,
    // html-to-text on a hostile multi-megabyte HTML part costs seconds of CPU; past this the text stays empty
    maxHtmlLengthToParse: 2_000_000,
  });

  const to = new Set<string>();
  for (const address of [...addressesOf(parsed.to), ...addressesOf(parsed.cc), ...envelopeTo]) {
    const clean = address.trim().toLowerCase();
    if (clean) to.add(clean);
  }

  const references = parsed.references === undefined ? [] : [parsed.references].flat();
  const from = addressesOf(parsed.from)[0]?.toLowerCase();
  const headers = headersOf(parsed);
  // mailparser puts the current time in place of a Date header it cannot read; that would be a false fact
  const dateMs = headers.date === undefined ? NaN : Date.parse(headers.date.split('\n')[0]!);
  const date = Number.isNaN(dateMs) ? undefined : new Date(dateMs).toISOString();

  return {
    raw: typeof raw === 'string' ? raw : rawText(raw),
    from,
    to: [...to],
    subject: parsed.subject ?? '',
    text: parsed.text ?? '',
    messageId: parsed.messageId,
    inReplyTo: parsed.inReplyTo,
    references,
    headers,
    date,
  };
}

/** utf-8 when the bytes are valid utf-8 (all ASCII mail is), latin1 otherwise: one char per byte, nothing lost. */
function rawText(bytes: Buffer): string {
  return isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1');
}

function addressesOf(field: AddressObject | AddressObject[] | undefined): string[] {
  const out: string[] = [];
  const walk = (entries: readonly EmailAddress[]): void => {
    for (const entry of entries) {
      if (entry.address) out.push(entry.address);
      if (entry.group) walk(entry.group);
    }
  };
  for (const object of field === undefined ? [] : [field].flat()) walk(object.value);
  return out;
}

// keys mailparser synthesises from several headers; the real headers behind them come from the raw lines
const SYNTHETIC_KEYS = new Set(['list', 'priority']);

/**
 * Lower-case names to string values, repeats joined with "\n". Decoded values where mailparser parsed the
 * header; the unfolded raw value where it did not keep one (List-*, X-Priority) and for Date, which
 * mailparser replaces with the current time when it cannot parse it.
 */
function headersOf(parsed: ParsedMail): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of parsed.headers) {
    if (SYNTHETIC_KEYS.has(key) || key === 'date') continue;
    out[key] = headerText(value);
  }
  const rawValues = new Map<string, string[]>();
  for (const { key, line } of parsed.headerLines) {
    if (key in out) continue;
    const colon = line.indexOf(':');
    const value = (colon === -1 ? '' : line.slice(colon + 1)).replace(/\r?\n[ \t]+/g, ' ').trim();
    rawValues.set(key, [...(rawValues.get(key) ?? []), value]);
  }
  for (const [key, values] of rawValues) out[key] = values.join('\n');
  return out;
}

function headerText(value: HeaderValue): string {
  if (typeof value === 'string') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toUTCString();
  if (Array.isArray(value)) return (value as unknown[]).map((v) => headerText(v as HeaderValue)).join('\n');
  if (isAddressObject(value)) return value.text;
  if (isStructured(value)) {
    const params = Object.entries(value.params).map(([k, v]) => `; ${k}=${/^[\w.!#$%&'*+^`|~-]+$/.test(v) ? v : JSON.stringify(v)}`);
    return value.value + params.join('');
  }
  return JSON.stringify(value);
}

function isAddressObject(value: unknown): value is AddressObject {
  return typeof value === 'object' && value !== null && 'value' in value && 'text' in value && Array.isArray(value.value);
}

function isStructured(value: unknown): value is StructuredHeader {
  return typeof value === 'object' && value !== null && 'value' in value && 'params' in value && typeof value.value === 'string';
}
