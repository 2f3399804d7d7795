/**
 * No working secret at rest: the copy of a message we keep once it is sent has every token masked (the reply
 * token in the reply address, the answer-link tokens), so reading the database, the message store or an evidence
 * pack gives nobody a way to answer in a recipient's name. The sha-256 of the exact bytes that went out is kept
 * beside the copy: the evidence still proves what was sent.
 *
 * Tokens sit in the headers (Reply-To) and in quoted-printable bodies, where a soft line break (`=` CRLF) may cut
 * one anywhere: the search runs on the text with the soft breaks taken out and masks the characters where they
 * stand, so the copy keeps its layout, byte for byte, but for the tokens.
 */

// a reply or bounce address of ours: `local+<notice>.<token>@` or `local+b.<notice>.<token>@`
const ADDRESS_TOKEN = /\+(?:b\.)?n[0-9a-z]{16}\.([0-9a-z]{16,64})@/gi;
// an answer link: `<public url>/links/<token>`
const LINK_TOKEN = /\/links\/([A-Za-z0-9_-]{16,128})/g;

/** The masked copy of a raw message, and how many tokens were masked. */
export function maskTokens(raw: string): { masked: string; tokens: number } {
  // the text with every quoted-printable soft break taken out, and where each break stood in it: a character at
  // index j of the text stands in `raw` at j + 3 for each break at or before j
  const breaks: number[] = [];
  let view = '';
  let from = 0;
  for (let i = raw.indexOf('=\r\n'); i >= 0; i = raw.indexOf('=\r\n', from)) {
    view += raw.slice(from, i);
    breaks.push(view.length);
    from = i + 3;
  }
  view += raw.slice(from);
  const rawIndex = (j: number): number => {
    let lo = 0;
    let hi = breaks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (breaks[mid]! <= j) lo = mid + 1;
      else hi = mid;
    }
    return j + 3 * lo;
  };
  const masked = new Set<number>();
  let tokens = 0;
  for (const pattern of [ADDRESS_TOKEN, LINK_TOKEN]) {
    for (const m of view.matchAll(pattern)) {
      const start = m.index + m[0].indexOf(m[1]!);
      for (let j = start; j < start + m[1]!.length; j++) masked.add(rawIndex(j));
      tokens++;
    }
  }
  // the copy: `raw` cut at each masked character, an x in its place
  const pieces: string[] = [];
  let last = 0;
  for (const at of [...masked].sort((a, b) => a - b)) {
    pieces.push(raw.slice(last, at), 'x');
    last = at + 1;
  }
  pieces.push(raw.slice(last));
  return { masked: pieces.join(''), tokens };
}

/** true when every token of ours in the text is masked: the check a copy passes before it is kept. */
export function holdsNoToken(raw: string): boolean {
  const view = raw.replace(/=\r\n/g, '');
  for (const pattern of [ADDRESS_TOKEN, LINK_TOKEN]) {
    for (const m of view.matchAll(pattern)) if (!/^x+$/.test(m[1]!)) return false;
  }
  return true;
}
