/**
 * A small MIME walker over the raw text of a message. The mail adapter flattens a message into one text body,
 * which loses what the classifier needs: the `message/delivery-status` fields of a bounce, the
 * `message/feedback-report` of an ARF report, and where the returned original message begins. Pure: it reads
 * a string and uses only the standard TextDecoder, so it runs the same in every host.
 *
 * The raw string is what the adapter kept: utf-8 when the bytes were valid utf-8, else one char per byte
 * (latin1). Bodies are decoded from that with their transfer encoding and charset.
 */

/** One node of a message's MIME tree. */
export interface MimePart {
  /** lower-case names; unfolded values; repeated headers joined with "\n" */
  readonly headers: Readonly<Record<string, string>>;
  /** lower-case media type, `text/plain` when absent */
  readonly type: string;
  /** Content-Type parameters, lower-case names */
  readonly params: Readonly<Record<string, string>>;
  /** the decoded body: text for leaves, '' for multiparts */
  readonly body: string;
  /** the parts of a multipart, or the one message inside a message/rfc822 (or text/rfc822-headers) part */
  readonly children: readonly MimePart[];
  /** true inside a returned or forwarded message (below a message/rfc822 or text/rfc822-headers part) */
  readonly embedded: boolean;
}

const MAX_DEPTH = 12;
const MAX_PARTS = 400;
// a reply or a bounce is read for its words; a multi-megabyte attachment adds nothing but CPU
const MAX_BODY_CHARS = 1_000_000;

/** Parse a whole message (headers and body) into its MIME tree. */
export function parseMime(raw: string): MimePart {
  const budget = { parts: 0 };
  return parseEntity(stripMboxLine(raw), 0, false, budget, 'text/plain');
}

/** Every part of the tree, depth first, the root included. */
export function allParts(root: MimePart): MimePart[] {
  const out: MimePart[] = [];
  const walk = (part: MimePart): void => {
    out.push(part);
    for (const child of part.children) walk(child);
  };
  walk(root);
  return out;
}

/** Split a header block into lower-case names and unfolded values (repeats joined with "\n"). */
export function parseHeaderBlock(block: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = block.split(/\r?\n/);
  let name: string | undefined;
  let value = '';
  const flush = (): void => {
    if (name === undefined) return;
    const clean = value.trim();
    out[name] = name in out ? `${out[name]}\n${clean}` : clean;
    name = undefined;
  };
  for (const line of lines) {
    if (/^[ \t]/.test(line) && name !== undefined) {
      value += ' ' + line.trim();
      continue;
    }
    const m = /^([!-9;-~]+)[ \t]*:(.*)$/.exec(line);
    if (!m && name !== undefined && line.trim()) {
      // a continuation a careless MTA did not indent (`boundary="..."` on its own line)
      value += ' ' + line.trim();
      continue;
    }
    flush();
    if (m) {
      name = m[1]!.toLowerCase();
      value = m[2]!;
    }
  }
  flush();
  return out;
}

/** Decode RFC 2047 encoded words (`=?utf-8?B?...?=`) in a header value. */
export function decodeWords(value: string): string {
  return value
    .replace(/(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)/g, '$1')
    .replace(/=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g, (whole, charset: string, enc: string, text: string) => {
      try {
        const bytes = enc.toUpperCase() === 'B' ? base64Bytes(text) : qpBytes(text.replace(/_/g, ' '), true);
        return decodeBytes(bytes, charset.replace(/\*.*$/, ''));
      } catch {
        return whole;
      }
    });
}

/** Parse a Content-Type (or Content-Disposition) value into its value and lower-case parameters. */
export function parseContentType(value: string | undefined): { type: string; params: Record<string, string> } {
  if (!value) return { type: 'text/plain', params: {} };
  const first = value.split('\n')[0]!;
  const semi = first.indexOf(';');
  const type = (semi === -1 ? first : first.slice(0, semi)).trim().toLowerCase() || 'text/plain';
  const params: Record<string, string> = {};
  const re = /;\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;
  const rest = semi === -1 ? '' : first.slice(semi);
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    let v = m[2]!.trim();
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    params[m[1]!.toLowerCase().replace(/\*0?\*?$/, '')] = v;
  }
  return { type: type.includes('/') ? type : 'text/plain', params };
}

/**
 * Plain text from HTML, good enough to read a reply: block elements become line breaks and a `<blockquote>`
 * becomes `> ` quoted lines, the way mail clients render a quoted history.
 */
export function htmlToText(html: string): string {
  // tags are bounded and unclosed blocks cut by indexOf, so hostile HTML costs linear time
  let s = dropBlocks(html, '<!--', '-->');
  for (const tag of ['head', 'style', 'script', 'title']) s = dropBlocks(s, `<${tag}`, `</${tag}`);
  s = s
    .replace(/<blockquote\b[^<>]{0,2000}>/gi, '\n\u0001\n')
    .replace(/<\/blockquote\s*>/gi, '\n\u0002\n')
    .replace(/<br\b[^<>]{0,2000}>/gi, '\n')
    .replace(/<hr\b[^<>]{0,2000}>/gi, '\n________________________________\n')
    .replace(/<\/?(p|div|tr|li|ul|ol|table|h[1-6]|pre|section|article|header|footer)\b[^<>]{0,2000}>/gi, '\n')
    .replace(/<[^<>]{1,2000}>/g, '');
  s = decodeEntities(s).replace(/\u00a0/g, ' ');
  const out: string[] = [];
  let depth = 0;
  for (const line of s.split(/\r?\n/)) {
    if (line.includes('\u0001')) {
      depth++;
      continue;
    }
    if (line.includes('\u0002')) {
      depth = Math.max(0, depth - 1);
      continue;
    }
    const text = line.replace(/[ \t]+/g, ' ').trim();
    out.push(depth ? `${'> '.repeat(Math.min(depth, 8))}${text}` : text);
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trim();
}

/** `text` without every stretch from `open` to the end of the next `close` (case-insensitive); an unclosed one runs to the end. */
function dropBlocks(text: string, open: string, close: string): string {
  const lower = text.toLowerCase();
  let out = '';
  let from = 0;
  for (;;) {
    const start = lower.indexOf(open, from);
    if (start === -1) return out + text.slice(from);
    out += text.slice(from, start);
    const end = lower.indexOf(close, start + open.length);
    if (end === -1) return out;
    const gt = lower.indexOf('>', end);
    from = gt === -1 ? text.length : gt + 1;
  }
}

const ENTITIES: Readonly<Record<string, string>> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', laquo: '«', raquo: '»', eacute: 'é',
  egrave: 'è', ecirc: 'ê', agrave: 'à', acirc: 'â', ccedil: 'ç', ocirc: 'ô', ucirc: 'û', ugrave: 'ù',
  icirc: 'î', iuml: 'ï', atilde: 'ã', otilde: 'õ', aacute: 'á', iacute: 'í', oacute: 'ó', uacute: 'ú',
  Eacute: 'É', rsquo: '’', lsquo: '‘', rdquo: '”', ldquo: '“', ndash: '–', mdash: '—', hellip: '…',
};

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name] ?? ENTITIES[name.toLowerCase()] ?? whole;
  });
}

// an mbox "From " line before the headers is not a header
function stripMboxLine(raw: string): string {
  return /^From [^\r\n]*\r?\n/.test(raw) && !/^From:/.test(raw) ? raw.replace(/^From [^\r\n]*\r?\n/, '') : raw;
}

function splitHead(raw: string): { head: string; body: string } {
  const m = /\r?\n\r?\n/.exec(raw);
  if (!m) return /^[!-9;-~]+[ \t]*:/.test(raw) ? { head: raw, body: '' } : { head: '', body: raw };
  return { head: raw.slice(0, m.index), body: raw.slice(m.index + m[0].length) };
}

function parseEntity(raw: string, depth: number, embedded: boolean, budget: { parts: number }, defaultType: string): MimePart {
  budget.parts++;
  const { head, body } = splitHead(raw);
  const headers = parseHeaderBlock(head);
  const hasType = headers['content-type'] !== undefined;
  const { type, params } = hasType ? parseContentType(headers['content-type']) : { type: defaultType, params: {} };
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').split('\n')[0]!.trim().toLowerCase();

  if (type.startsWith('multipart/') && params.boundary && depth < MAX_DEPTH) {
    const childDefault = type === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
    const children: MimePart[] = [];
    let chunks = splitMultipart(body, params.boundary);
    // a boundary the parts do not use (rewritten or anonymised mail): take the one the body does use
    const guessed = chunks.length ? undefined : guessBoundary(body);
    if (guessed) chunks = splitMultipart(body, guessed);
    if (!chunks.length) {
      const text = decodeBody(body.slice(0, MAX_BODY_CHARS), encoding, undefined, true);
      return { headers, type, params, body: '', children: [{ headers: {}, type: 'text/plain', params: {}, body: text, children: [], embedded }], embedded };
    }
    for (const chunk of chunks) {
      if (budget.parts >= MAX_PARTS) break;
      children.push(parseEntity(chunk, depth + 1, embedded, budget, childDefault));
    }
    return { headers, type, params, body: '', children, embedded };
  }

  const isMessage = type === 'message/rfc822' || type === 'message/global' || type === 'text/rfc822-headers' || type === 'message/rfc822-headers';
  if (isMessage && depth < MAX_DEPTH && budget.parts < MAX_PARTS) {
    const inner = decodeBody(body, encoding, params.charset ?? (type === 'message/global' ? 'utf-8' : undefined), false);
    const child = parseEntity(inner, depth + 1, true, budget, 'text/plain');
    return { headers, type, params, body: '', children: [child], embedded };
  }

  const text = decodeBody(body.length > MAX_BODY_CHARS ? body.slice(0, MAX_BODY_CHARS) : body, encoding, params.charset, true);
  return { headers, type, params, body: text, children: [], embedded };
}

function guessBoundary(body: string): string | undefined {
  const lines = body.split(/\r?\n/, 2000);
  for (const line of lines) {
    const m = /^--([^\s]{8,200}?)(--)?\s*$/.exec(line);
    if (m && lines.filter((l) => l.startsWith(`--${m[1]}`)).length >= 2) return m[1];
  }
  return undefined;
}

function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const lines = body.split(/(?<=\n)/);
  const parts: string[] = [];
  let current: string[] | undefined;
  let seen = false;
  for (const line of lines) {
    const bare = line.replace(/\r?\n$/, '').replace(/[ \t]+$/, '');
    if (bare === delimiter || bare === `${delimiter}--`) {
      seen = true;
      if (current) parts.push(current.join('').replace(/\r?\n$/, ''));
      current = bare === delimiter ? [] : undefined;
      if (!current) break;
      continue;
    }
    current?.push(line);
  }
  // a missing closing delimiter: the last part runs to the end
  if (current) parts.push(current.join(''));
  return seen ? parts : [];
}

function decodeBody(body: string, encoding: string, charset: string | undefined, isText: boolean): string {
  if (encoding === 'base64') {
    try {
      return decodeBytes(base64Bytes(body), charset);
    } catch {
      return body;
    }
  }
  if (encoding === 'quoted-printable') return decodeBytes(qpBytes(body, false), charset);
  return isText ? recharset(body, charset) : body;
}

/**
 * An 8-bit body arrives as the adapter decoded the whole message: utf-8 text, or one char per byte. When the
 * chars read as bytes decode cleanly in the declared charset, that was the intent; otherwise keep the text.
 */
function recharset(text: string, charset: string | undefined): string {
  const label = (charset ?? '').toLowerCase();
  // iso-2022 text is 7-bit with escape sequences: it needs decoding although it is all ASCII
  if (/^iso-2022/.test(label) && text.includes('\x1b')) return decodeBytes(Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff), label);
  // eslint-disable-next-line no-control-regex
  if (!charset || !/[^\x00-\x7f]/.test(text) || /[^\x00-\xff]/.test(text)) return text;
  if (label === 'us-ascii' || label === 'iso-8859-1' || label === 'latin1') return text;
  try {
    const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
    return new TextDecoder(label, { fatal: true }).decode(bytes);
  } catch {
    return text;
  }
}

function base64Bytes(text: string): Uint8Array {
  const clean = text.replace(/[^A-Za-z0-9+/]/g, '');
  const padded = clean.slice(0, clean.length - (clean.length % 4 === 1 ? 1 : 0));
  const binary = atob(padded + '='.repeat((4 - (padded.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function qpBytes(text: string, inHeader: boolean): Uint8Array {
  const source = inHeader ? text : text.replace(/=\r?\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(source.slice(i + 1, i + 3))) {
      out.push(parseInt(source.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c > 0xff) {
      out.push(...new TextEncoder().encode(source[i]!));
    } else {
      out.push(c);
    }
  }
  return Uint8Array.from(out);
}

function decodeBytes(bytes: Uint8Array, charset: string | undefined): string {
  const label = (charset ?? 'utf-8').trim().toLowerCase();
  try {
    return new TextDecoder(label === 'us-ascii' || label === 'ascii' ? 'utf-8' : label).decode(bytes);
  } catch {
    // an unknown charset label: windows-1252 reads every byte
    return new TextDecoder('windows-1252').decode(bytes);
  }
}
