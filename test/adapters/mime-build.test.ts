import { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import type MimeNode from 'nodemailer/lib/mime-node';
import { describe, expect, it } from 'vitest';
import { composeMessage, messageTree } from '../../lib/adapters/mail/compose.js';
import { buildMime } from '../../lib/adapters/mail/mime-build.js';
import type { MailDraft } from '../../lib/core/ports.js';
import { renderNotice } from '../../lib/core/notices/render/render.js';
import { cases, input, notice, party } from '../core/render-fixtures.js';

/*
 * buildMime puts a message together at once from the tree nodemailer built, where nodemailer streams it: the bytes
 * must be nodemailer's own, to the byte, for every shape a notice takes (they are hashed, stored and resent as
 * they are). Each tree is built both ways, in both orders, since building fixes a node's generated headers.
 */

/** The tree built at once and streamed, in both orders: the two results of each must be the same bytes. */
async function bothWays(tree: () => MimeNode): Promise<Buffer> {
  const first = tree();
  const atOnce = buildMime(first);
  expect(atOnce, 'built at once').toBeDefined();
  const streamed = await first.build();
  expect(atOnce!.toString('latin1')).toBe(streamed.toString('latin1'));
  const second = tree();
  const streamedFirst = await second.build();
  expect(buildMime(second)!.toString('latin1')).toBe(streamedFirst.toString('latin1'));
  return atOnce!;
}

const base = { newline: 'win', textEncoding: 'quoted-printable', disableFileAccess: true, disableUrlAccess: true } as const;
const composer = (options: ConstructorParameters<typeof MailComposer>[0]) => () => new MailComposer({ ...base, ...options } as ConstructorParameters<typeof MailComposer>[0]).compile();

describe('buildMime', () => {
  it.each([
    ['English, three cases', party()],
    ['Arabic (EG)', party({ country: 'EG' })],
    ['French (CI)', party({ country: 'CI' })],
    ['Portuguese (AO)', party({ country: 'AO' })],
    ['an ARF desk, three reports', party({ arf: true })],
    ['an ARF desk in Arabic', party({ arf: true, country: 'EG' })],
  ])('gives the bytes nodemailer streams for a rendered notice: %s', async (_, p) => {
    const draft: MailDraft = renderNotice(input({ notice: notice(p), cases: cases(p) }));
    const raw = await bothWays(() => messageTree(draft));
    expect(raw.length).toBeGreaterThan(draft.text.length);
  });

  it('gives the same for one ARF report (the report itself the third part)', async () => {
    const p = party({ arf: true, country: 'CI' });
    const draft = renderNotice(input({ notice: notice(p), cases: cases(p).slice(0, 1) }));
    await bothWays(() => messageTree(draft));
  });

  it('gives the same for what quoted-printable and base64 find hard: long text over several slices, odd lengths, stray line ends', async () => {
    // over 64 KB of text (the quoted-printable encoder's slice), non-ASCII across the slice edges, lines longer
    // than 76, spaces and tabs before line ends and at the very end, lone LF and CR, and a final CR
    const line = (i: number) => `Ligne ${i}: l'adresse 198.51.100.${i % 255} héberge un kit d'hameçonnage ✓ — ${'x'.repeat(i % 120)}`;
    const long = Array.from({ length: 1500 }, (_, i) => line(i) + (i % 7 === 0 ? ' \t' : '') + (i % 3 === 0 ? '\n' : '\r\n')).join('');
    const odd = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'é'.repeat(40_001)];
    const raw = await bothWays(
      composer({
        from: 'CERT Équipe <cert@example.org>',
        to: 'Abuse Désk <abuse@example.net>',
        subject: `Signalement d'abus — ${'très long sujet '.repeat(12)}`,
        text: `${long}\rlone CR\nlone LF\r\n trailing space \nend with tab\t`,
        html: `<p>${'<b>gras</b> et «citations» '.repeat(800)}</p>\n<p>fin\r</p>`,
        messageId: '<n1.notice.0@reply.example>',
        headers: { 'X-Takedown-Ticket': 'TKD-n1' },
        attachments: [
          ...odd.map((content, i) => ({ filename: `rapport-${i}-é.json`, contentType: 'application/json', content })),
          { filename: 'bytes.bin', contentType: 'application/octet-stream', content: Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 37) % 256)) },
          // quoted-printable outside of text: a lone CR or LF is data, encoded
          { filename: 'notes.bin', contentType: 'application/octet-stream', contentTransferEncoding: 'quoted-printable', content: 'a\rb\nc\r\nd =\t' },
        ],
      }),
    );
    // the text alone is several of the encoder's 64 KB slices
    expect(raw.length).toBeGreaterThan(4 * 64 * 1024);
  });

  it('gives the same for a text-only message, and for one with an empty body', async () => {
    await bothWays(composer({ from: 'a@example.org', to: 'b@example.net', subject: 'only text', text: 'plain\n' }));
    // the stream ends a message on a line break when its last part does not
    const open = await bothWays(composer({ from: 'a@example.org', to: 'b@example.net', subject: 'no line end', text: 'no line break at the end' }));
    expect(open.toString('latin1').endsWith('at the end\r\n')).toBe(true);
    await bothWays(composer({ from: 'a@example.org', to: 'b@example.net', subject: 'empty', text: '' }));
  });

  it('leaves to the stream what it cannot put together at once: stream or raw content, other line ends', async () => {
    const stream = composer({ from: 'a@example.org', to: 'b@example.net', text: 'hi', attachments: [{ filename: 's.txt', content: Readable.from(['from a stream']) }] })();
    expect(buildMime(stream)).toBeUndefined();
    expect((await stream.build()).toString()).toContain('ZnJvbSBhIHN0cmVhbQ==');
    expect(buildMime(composer({ from: 'a@example.org', to: 'b@example.net', raw: 'Subject: raw\r\n\r\nbody\r\n' })())).toBeUndefined();
    expect(buildMime(composer({ from: 'a@example.org', to: 'b@example.net', text: 'hi', newline: 'unix' })())).toBeUndefined();
  });

  it('is what composeMessage sends', async () => {
    const draft = renderNotice(input({ notice: notice(party({ country: 'EG' })) }));
    const raw = await composeMessage(draft);
    // the same message streamed but for its Date and boundaries, which each tree makes anew
    const strip = (s: string) => s.replace(/^Date: .*$/m, '').replace(/--_NmP-[0-9a-f-]+-Part_\d+/g, 'B').replace(/boundary="[^"]+"/g, 'b');
    expect(strip(raw)).toBe(strip((await messageTree(draft).build()).toString('utf8')));
  });
});
