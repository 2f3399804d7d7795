import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { composeMessage, feedbackReport } from '../../lib/adapters/mail/compose.js';
import { parseMail } from '../../lib/adapters/mail/parse.js';
import type { MailDraft } from '../../lib/core/ports.js';
import { renderNotice } from '../../lib/core/notices/render/render.js';
import { cases, input, notice, party } from '../core/render-fixtures.js';

/** One MIME entity: its header block (unfolded, names lower case) and its raw body. */
interface Entity {
  readonly headers: Map<string, string>;
  readonly body: string;
}

function entity(raw: string): Entity {
  const split = raw.indexOf('\r\n\r\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: split < 0 ? '' : raw.slice(split + 4) };
}

/** The parts of a multipart entity, split on its boundary as RFC 2046 says. */
function parts(e: Entity): Entity[] {
  const boundary = /boundary="?([^";]+)"?/.exec(e.headers.get('content-type') ?? '')?.[1];
  if (!boundary) throw new Error('not a multipart entity');
  const pieces = e.body.split(`--${boundary}`);
  expect(pieces[pieces.length - 1]!.startsWith('--')).toBe(true);
  return pieces.slice(1, -1).map((p) => entity(p.replace(/^\r\n/, '').replace(/\r\n$/, '')));
}

function typeOf(e: Entity): string {
  return (e.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

function sevenBitCrlf(raw: string): void {
  expect(raw).toMatch(/^[\x00-\x7f]*$/);
  expect(raw.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  for (const line of raw.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
}

describe('composeMessage', () => {
  it('sends text and HTML as alternatives, with the XARF reports and the CSV attached, all 7-bit with CRLF', async () => {
    const draft = renderNotice(input({ notice: notice(party({ country: 'EG' })) }));
    const raw = await composeMessage(draft);
    sevenBitCrlf(raw);

    const top = entity(raw);
    expect(typeOf(top)).toBe('multipart/mixed');
    const [body, ...attached] = parts(top);
    expect(typeOf(body!)).toBe('multipart/alternative');
    const [text, html] = parts(body!);
    expect([typeOf(text!), typeOf(html!)]).toEqual(['text/plain', 'text/html']);
    // quoted-printable even for an Arabic body: the ASCII parts of the stored bytes stay readable
    expect(text!.headers.get('content-transfer-encoding')).toBe('quoted-printable');
    expect(html!.headers.get('content-transfer-encoding')).toBe('quoted-printable');
    expect(attached.map((a) => typeOf(a))).toEqual(['application/json', 'application/json', 'application/json', 'text/csv']);

    const parsed = await simpleParser(raw);
    expect(parsed.subject).toBe(draft.subject);
    expect(parsed.text?.replace(/\r\n/g, '\n')).toBe(draft.text);
    expect(parsed.html).toBe(draft.html);
    expect(parsed.attachments.map((a) => a.filename)).toEqual(draft.attachments!.map((a) => a.filename));
    for (const [i, a] of parsed.attachments.entries()) {
      const sent = draft.attachments![i]!.content;
      expect(a.content.toString('utf8').replace(/\r\n/g, '\n')).toBe(sent.replace(/\r\n/g, '\n'));
    }
    expect(JSON.parse(parsed.attachments[0]!.content.toString('utf8'))).toMatchObject({ category: 'infrastructure', type: 'botnet' });
    const mine = await parseMail(raw);
    expect(mine.headers['reply-to']).toBe(draft.replyTo);
    expect(mine.messageId).toBe(draft.messageId);
  });

  it('wraps an ARF party notice as multipart/report with the text, the feedback report and the XARF report', async () => {
    const p = party({ arf: true, country: 'CI' });
    const draft = renderNotice(input({ notice: notice(p), cases: cases(p).slice(0, 1) }));
    const raw = await composeMessage(draft);
    sevenBitCrlf(raw);

    const top = entity(raw);
    expect(top.headers.get('content-type')).toMatch(/^multipart\/report; report-type=feedback-report; boundary=/);
    expect(top.headers.get('mime-version')).toBe('1.0');
    expect(top.headers.get('message-id')).toBe(draft.messageId);
    expect(top.headers.get('x-tlp')).toBe('AMBER');
    const report = parts(top);
    expect(report.map(typeOf)).toEqual(['text/plain', 'message/feedback-report', 'application/json']);

    const fields = report[1]!;
    expect(fields.headers.get('content-transfer-encoding')).toBe('7bit');
    expect(fields.body).toBe(
      [
        'Feedback-Type: xarf',
        'User-Agent: takedown-orchestrator/0.1',
        'Version: 1',
        'Arrival-Date: Sun, 05 Jan 2025 08:15:00 +0000',
        'Source-IP: 198.51.100.23',
        'Incidents: 1',
        '',
      ].join('\r\n'),
    );
    for (const required of ['Feedback-Type', 'User-Agent', 'Version']) {
      expect(fields.body.split('\r\n').filter((l) => l.startsWith(`${required}:`)), required).toHaveLength(1);
    }

    const parsed = await simpleParser(raw);
    expect(parsed.subject).toBe(draft.subject);
    expect(parsed.text?.replace(/\r\n/g, '\n')).toBe(draft.text);
    const json = parsed.attachments.find((a) => a.contentType === 'application/json')!;
    expect(json.filename).toBe('TKD-n0123456789abcdef-1.xarf.json');
    expect(JSON.parse(json.content.toString('utf8'))).toEqual(JSON.parse(draft.attachments![0]!.content));
    const feedback = parsed.attachments.find((a) => a.contentType === 'message/feedback-report');
    expect(feedback?.content.toString('utf8')).toContain('Feedback-Type: xarf');
  });

  it('puts several XARF reports and the CSV into a multipart/mixed third part, so the report keeps three parts', async () => {
    const p = party({ arf: true });
    const draft = renderNotice(input({ notice: notice(p), cases: cases(p) }));
    const raw = await composeMessage(draft);
    sevenBitCrlf(raw);
    const report = parts(entity(raw));
    expect(report.map(typeOf)).toEqual(['text/plain', 'message/feedback-report', 'multipart/mixed']);
    expect(parts(report[2]!).map(typeOf)).toEqual(['application/json', 'application/json', 'application/json', 'text/csv']);
    expect(report[1]!.body).toContain('Reported-Domain: login-bank.example\r\nReported-Domain: scam-shop.example\r\nReported-URI: http://login-bank.example/secure\r\n');
    // the one address among them is the Source-IP desks key on; names and URLs follow as Reported-*
    expect(report[1]!.body).toContain('Source-IP: 198.51.100.23\r\nIncidents: 3\r\n');
    const parsed = await simpleParser(raw);
    expect(parsed.attachments.filter((a) => a.filename?.endsWith('.xarf.json'))).toHaveLength(3);
  });

  it('composes the same draft to the same bytes but for the Date and boundaries', async () => {
    const draft: MailDraft = renderNotice(input({ notice: notice(party({ arf: true })) }));
    const strip = (raw: string) => raw.replace(/^Date: .*$/m, '').replace(/--_NmP-[0-9a-f-]+-Part_\d+/g, 'B').replace(/boundary="[^"]+"/g, 'b');
    expect(strip(await composeMessage(draft))).toBe(strip(await composeMessage(draft)));
  });
});

describe('feedbackReport', () => {
  it('writes the required fields once, in order, and leaves out a value that is not printable ASCII or too long', () => {
    const text = feedbackReport({
      feedbackType: 'xarf',
      userAgent: 'takedown-orchestrator/0.1',
      reportedDomains: ['ok.example', 'bücher.example', 'two words.example'],
      reportedUris: [`http://long.example/${'a'.repeat(1000)}`, 'http://fine.example/x'],
      sourceIp: '2001:db8::1',
    });
    expect(text).toBe(
      'Feedback-Type: xarf\r\nUser-Agent: takedown-orchestrator/0.1\r\nVersion: 1\r\nSource-IP: 2001:db8::1\r\nReported-Domain: ok.example\r\nReported-URI: http://fine.example/x\r\n',
    );
  });
});
