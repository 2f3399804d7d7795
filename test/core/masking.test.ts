import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { holdsNoToken, maskTokens } from '../../lib/core/notices/sending/masking.js';

/**
 * The masking as first written, one character at a time: the reference the faster one is held to. Every character
 * of the text without soft breaks, with the index it stands at in the raw message; a token's characters are
 * replaced where they stand.
 */
function referenceMask(raw: string): { masked: string; tokens: number } {
  const at: number[] = [];
  let view = '';
  for (let i = 0; i < raw.length; i++) {
    if (raw.charCodeAt(i) === 61 && raw.startsWith('\r\n', i + 1)) {
      i += 2;
      continue;
    }
    at.push(i);
    view += raw[i];
  }
  const out = raw.split('');
  let tokens = 0;
  for (const pattern of [/\+(?:b\.)?n[0-9a-z]{16}\.([0-9a-z]{16,64})@/gi, /\/links\/([A-Za-z0-9_-]{16,128})/g]) {
    for (const m of view.matchAll(pattern)) {
      const start = m.index + m[0].indexOf(m[1]!);
      for (let j = start; j < start + m[1]!.length; j++) out[at[j]!] = 'x';
      tokens++;
    }
  }
  return { masked: out.join(''), tokens };
}

/** Cuts `text` with quoted-printable soft breaks (`=` CRLF) at the given places. */
function softBreak(text: string, cuts: readonly number[]): string {
  const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  let out = '';
  let last = 0;
  for (const c of at) {
    out += text.slice(last, c) + '=\r\n';
    last = c;
  }
  return out + text.slice(last);
}

const TOKEN = 'k3v9q2m8x7w4t6p1z5r0';
const LINK = 'AbC_dEf-GhI_jKl-MnO_pQr';
const MESSAGE = [
  'Reply-To: abuse-desk+n0123456789abcdef.' + TOKEN + '@reply.example',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Dear abuse desk, answer here: https://takedown.example/links/' + LINK + ' or reply to',
  'abuse-desk+b.n0123456789abcdef.' + TOKEN + '@reply.example. A = sign, and a line =3D code.',
].join('\r\n');

describe('maskTokens', () => {
  it('masks the reply and link tokens where they stand and leaves every other byte as it was', () => {
    const { masked, tokens } = maskTokens(MESSAGE);

    expect(tokens).toBe(3);
    expect(masked).toHaveLength(MESSAGE.length);
    expect(masked).not.toContain(TOKEN);
    expect(masked).not.toContain(LINK);
    expect(masked).toContain('/links/' + 'x'.repeat(LINK.length) + ' or reply');
    expect(masked.replaceAll('x', '')).toBe(MESSAGE.replaceAll(TOKEN, '').replaceAll(LINK, '').replaceAll('x', ''));
    expect(holdsNoToken(masked)).toBe(true);
    expect(holdsNoToken(MESSAGE)).toBe(false);
  });

  it('masks exactly what the plain one-character-at-a-time scan masks, wherever soft breaks cut the tokens', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40 }), (cuts) => {
        const raw = softBreak(MESSAGE, cuts);

        const fast = maskTokens(raw);

        expect(fast).toStrictEqual(referenceMask(raw));
        expect(holdsNoToken(fast.masked)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
