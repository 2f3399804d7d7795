import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseMail } from '../../lib/adapters/mail/parse.js';
import { classifyMail, type Classification } from '../../lib/core/answers/mail/classify.js';
import { detectIntent, findTicket } from '../../lib/core/answers/mail/intent.js';
import { humanPart } from '../../lib/core/answers/mail/reply.js';
import { parseMime, allParts } from '../../lib/core/answers/mail/mime.js';

/*
 * Hand-written answers in the shapes abuse desks really send (test/fixtures/replies/*.eml, documentation
 * addresses only): each must get its own intent, so sending everything to review cannot pass.
 */

const DIR = fileURLToPath(new URL('../fixtures/replies/', import.meta.url));

type Row = readonly [file: string, cls: Classification['class'], intentOrKind: string, phrase?: string, extra?: { ticket?: string; language?: string }];

/** The expected reading of every fixture: class, intent (or auto-reply kind), the words that carry it. */
const EXPECTED: readonly Row[] = [
  // English
  ['en-gmail-top-actioned', 'human', 'actioned', 'We have suspended', { language: 'en' }],
  ['en-outlook-not-ours-upstream', 'human', 'not-ours', 'is not ours'],
  ['en-needs-info-logs', 'human', 'needs-info', 'please provide more evidence'],
  ['en-disputed-legitimate', 'human', 'disputed', 'We dispute this'],
  ['en-ack-investigating', 'human', 'acknowledged', 'Thank you for your report'],
  ['en-bottom-posted-actioned', 'human', 'actioned', 'page has been taken down'],
  ['en-html-only-outlook-actioned', 'human', 'actioned', 'We have null-routed'],
  ['en-html-only-gmail-needs-info', 'human', 'needs-info', 'Could you please send us the exact URL'],
  ['en-interleaved-mixed', 'human', 'unclear'],
  ['en-rt-ticket-actioned', 'human', 'actioned', 'We have terminated', { ticket: 'hosting.example #48213' }],
  ['en-otrs-ticket-actioned', 'human', 'actioned', 'content was removed', { ticket: '2025060510000123' }],
  ['en-zendesk-needs-info', 'human', 'needs-info', 'are unable to find the', { ticket: '48213' }],
  ['en-unclear-question', 'human', 'unclear'],
  ['en-unclear-ok', 'human', 'unclear'],
  ['en-disputed-no-action', 'human', 'disputed', 'found no evidence of'],
  ['en-not-ours-reassigned', 'human', 'not-ours', 'was reassigned'],
  ['en-ack-forwarded-customer', 'human', 'acknowledged', 'have forwarded your report to our customer'],
  ['en-signature-disclaimer-actioned', 'human', 'actioned', "we've disabled"],
  ['en-negated-still-investigating', 'human', 'acknowledged', 'we are still investigating'],
  ['en-alternative-top-posted-ack', 'human', 'acknowledged', 'under investigation'],
  // French
  ['fr-gmail-actioned', 'human', 'actioned', 'a été suspendu', { language: 'fr' }],
  ['fr-outlook-not-ours', 'human', 'not-ours', "n'appartient pas à notre"],
  ['fr-needs-info', 'human', 'needs-info', 'Pourriez-vous nous fournir des informations'],
  ['fr-disputed', 'human', 'disputed', 'Nous contestons'],
  ['fr-ack', 'human', 'acknowledged', 'Merci pour votre signalement'],
  // Portuguese
  ['pt-gmail-actioned', 'human', 'actioned', 'foi removido', { language: 'pt' }],
  ['pt-outlook-not-ours', 'human', 'not-ours', 'não pertence à nossa'],
  ['pt-needs-info', 'human', 'needs-info', 'Por favor, envie mais informações'],
  ['pt-disputed', 'human', 'disputed', 'Discordamos'],
  ['pt-ack', 'human', 'acknowledged', 'Obrigado pela denúncia'],
  // Arabic
  ['ar-gmail-actioned', 'human', 'actioned', 'تم إيقاف', { language: 'ar' }],
  ['ar-html-rtl-not-ours', 'human', 'not-ours', 'لا ينتمي'],
  ['ar-needs-info', 'human', 'needs-info', 'يرجى تزويدنا بمزيد'],
  ['ar-ack', 'human', 'acknowledged', 'شكراً لكم على البلاغ'],
  ['ar-disputed', 'human', 'disputed', 'نعترض'],
  // automatic messages without RFC 3834 headers, or with them, that look like answers
  ['auto-ticket-receipt', 'auto-reply', 'receipt', undefined, { ticket: '12345' }],
  ['auto-exchange-automatic-reply', 'auto-reply', 'vacation'],
  ['auto-fr-reponse-automatique', 'auto-reply', 'vacation'],
];

async function classifyFixture(name: string): Promise<Classification> {
  return classifyMail(await parseMail(readFileSync(`${DIR}${name}.eml`)));
}

describe('classifyMail on answers written the way abuse desks write them', () => {
  it('has a row for every fixture and at least 30 human answers in four languages', () => {
    const onDisk = readdirSync(DIR).filter((f) => f.endsWith('.eml')).map((f) => f.replace(/\.eml$/, '')).sort();
    expect(EXPECTED.map((r) => r[0]).sort()).toEqual(onDisk);
    const human = EXPECTED.filter((r) => r[1] === 'human');
    expect(human.length).toBeGreaterThanOrEqual(30);
    expect(new Set(human.map((r) => r[0].slice(0, 2)))).toEqual(new Set(['en', 'fr', 'pt', 'ar']));
  });

  for (const [file, cls, expected, phrase, extra] of EXPECTED) {
    it(`reads ${file} as ${cls} ${expected}`, async () => {
      const c = await classifyFixture(file);
      expect(c.class).toBe(cls);
      if (c.class === 'human') {
        expect(c.intent).toBe(expected);
        if (phrase) expect(c.phrase).toBe(phrase);
        // what a desk wrote is read, never the notice it quotes
        expect(c.text).not.toMatch(/To the abuse team of|Reply to this message/);
      }
      if (c.class === 'auto-reply') expect(c.kind).toBe(expected);
      if (extra?.ticket) expect((c as { ticket?: string }).ticket).toBe(extra.ticket);
      if (extra?.language) expect((c as { language?: string }).language).toBe(extra.language);
    });
  }

  it('sends only the few answers that are really unclear to review', async () => {
    const unclear: string[] = [];
    for (const [file] of EXPECTED) {
      const c = await classifyFixture(file);
      if (c.class === 'human' && c.intent === 'unclear') unclear.push(file);
    }
    expect(unclear).toEqual(['en-interleaved-mixed', 'en-unclear-question', 'en-unclear-ok']);
  });

  it('says why an answer with two meanings is unclear', async () => {
    const c = await classifyFixture('en-interleaved-mixed');
    expect(c.reason).toMatch(/actioned \("server has been suspended"\), not-ours \("is not ours"\)/);
  });

  it('keeps the thread ids the answer refers to', async () => {
    const c = await classifyFixture('en-gmail-top-actioned');
    expect(c.refs.messageIds).toContain('<n0123456789abcdef.notice.0@reply.example>');
  });
});

describe('classifyMail on hostile input', () => {
  it('reads messages built to make pattern matching slow in linear time', () => {
    const bodies: [string, string][] = [
      ['text/plain', 'a'.repeat(300_000)],
      ['text/plain', 'your message to '.repeat(40_000)],
      ['text/plain', '<aaaa'.repeat(60_000)],
      ['text/html', '<'.repeat(300_000)],
      ['text/html', '<style'.repeat(50_000)],
      ['text/html', '<blockquote>'.repeat(50_000) + 'x'],
    ];
    for (const [type, body] of bodies) {
      const started = performance.now();
      const c = classifyMail({ raw: `From: a@hosting.example\nSubject: Re: x\nContent-Type: ${type}\n\n${body}`, from: 'a@hosting.example', to: [], subject: 'Re: x', text: '', references: [], headers: { 'content-type': type } });
      expect(c.class).toBe('human');
      // quadratic matching takes minutes on these; linear takes milliseconds
      expect(performance.now() - started).toBeLessThan(2_000);
    }
  });
});

describe('humanPart', () => {
  it('keeps the answer written under a quoted notice (bottom-posting) and drops the quote', () => {
    const part = humanPart('On Thu, 5 Jun 2025 at 10:00, Desk <d@cert.example> wrote:\n> TLP:AMBER\n> please act\n\nDone, removed.\n');
    expect(part.text).toBe('Done, removed.');
    expect(part.quote).toBe('"On ... wrote:"');
  });

  it('cuts at an Outlook header block in French and Portuguese, and at an attribution wrapped over two lines', () => {
    expect(humanPart('Supprimé.\n\nDe : Desk <d@cert.example>\nEnvoyé : jeudi 5 juin 2025 10:00\nObjet : x\n\nTLP:AMBER').text).toBe('Supprimé.');
    expect(humanPart('Removido.\n\nDe: Desk\nEnviado: quinta-feira\nPara: abuse@x.example\n\nTLP:AMBER').text).toBe('Removido.');
    expect(humanPart('Gone.\n\nOn Thu, Jun 5, 2025 at 10:00 AM CERT Takedown Desk <\ntakedown@cert.example> wrote:\n\nTLP:AMBER\nIndicators').text).toBe('Gone.');
  });

  it('cuts at a copy of the notice pasted without any quote marks', () => {
    expect(humanPart('We took it down.\n\nTLP:AMBER\n\nTo the abuse team of Example Hosting,\n').text).toBe('We took it down.');
  });

  it('does not take a sentence that ends a paragraph for the start of an attribution', () => {
    expect(humanPart('We have informed the customer.\nOn Thu, 5 Jun 2025 Desk wrote:\n> x').text).toBe('We have informed the customer.');
  });
});

describe('detectIntent', () => {
  it('does not read a denied action as done', () => {
    expect(detectIntent('The domain has not been suspended.').intent).toBe('unclear');
    expect(detectIntent('Nothing has been removed so far.').intent).toBe('unclear');
    expect(detectIntent('O site não foi removido.').intent).toBe('unclear');
    expect(detectIntent('We will not remove it, the site is fine.').intent).toBe('disputed');
  });

  it('reads a promise as an acknowledgement, not as the action itself', () => {
    expect(detectIntent('We will investigate and take appropriate action.').intent).toBe('acknowledged');
    expect(detectIntent('Appropriate action has been taken.').intent).toBe('actioned');
  });

  it('reads a terse answer that is only the verb', () => {
    expect(detectIntent('Removed.')).toMatchObject({ intent: 'actioned', phrase: 'Removed' });
    expect(detectIntent('ok').intent).toBe('unclear');
  });

  it('lets a request for evidence win over doubt, so the case stays open for it', () => {
    expect(detectIntent('We believe this is a legitimate site; please provide evidence of phishing.').intent).toBe('needs-info');
  });
});

describe('findTicket', () => {
  it('finds the ticket numbers of common ticket systems and never takes our own tag for one', () => {
    expect(findTicket('[Ticket#2025060510000123] RE: [TKD-n0123456789abcdef] Takedown')).toBe('2025060510000123');
    expect(findTicket('[hosting.example #48213] Re: x')).toBe('hosting.example #48213');
    expect(findTicket('Re: [TKD-n0123456789abcdef] Takedown request')).toBeUndefined();
    expect(findTicket('Chamado nº 778812 aberto')).toBe('778812');
    expect(findTicket('Case: INC0012345')).toBe('INC0012345');
    expect(findTicket('رقم البلاغ: 99881')).toBe('99881');
  });
});

describe('parseMime', () => {
  it('finds the parts of a report whose header forgot to indent its boundary, and decodes base64 and quoted-printable', () => {
    const raw = [
      'Content-Type: multipart/mixed;',
      'boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Le site a =C3=A9t=C3=A9 supprim=C3=A9.',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('تم الحذف', 'utf8').toString('base64'),
      '--b1--',
      '',
    ].join('\r\n');
    const texts = allParts(parseMime(raw)).filter((p) => p.type === 'text/plain').map((p) => p.body.trim());
    expect(texts).toEqual(['Le site a été supprimé.', 'تم الحذف']);
  });
});
