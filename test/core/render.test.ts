import { describe, expect, it } from 'vitest';
import { TakedownError } from '../../lib/core/errors.js';
import type { PartyKind } from '../../lib/core/model.js';
import type { MailDraft } from '../../lib/core/ports.js';
import { renderNotice } from '../../lib/core/notices/render/render.js';
import { replyAddress } from '../../lib/core/routing/ids.js';
import { CAMPAIGN, cases, input, kase, indicator, notice, NOW, party, SETTINGS, TOKEN } from './render-fixtures.js';

const LINKS = {
  acknowledge: 'https://takedown.example/l/ack-7f3a',
  actioned: 'https://takedown.example/l/done-91bc',
  notOurs: 'https://takedown.example/l/notours-0d2e',
};

/** Everything of a draft a recipient or a relay sees, as one text. */
function everything(d: MailDraft): string {
  return [d.subject, d.text, d.html ?? '', d.replyTo, d.messageId, d.inReplyTo ?? '', JSON.stringify(d.headers ?? {}), ...(d.attachments ?? []).map((a) => `${a.filename}\n${a.content}`)].join('\n');
}

/** The English section of a text body (after the separator), or all of it when the notice is English only. */
function englishText(d: MailDraft): string {
  const at = d.text.indexOf('\nEnglish version\n');
  return at < 0 ? d.text : d.text.slice(at);
}

describe('renderNotice', () => {
  it('lists each indicator with its evidence, first seen time, TLP and case id, in the text and the HTML', () => {
    const d = renderNotice(input());
    for (const c of cases()) {
      for (const body of [d.text, d.html!]) {
        expect(body).toContain(c.indicator.value);
        expect(body).toContain(c.id);
        expect(body).toContain(`TLP:${c.indicator.tlp ?? 'AMBER'}`);
      }
    }
    expect(d.text).toContain('   evidence: Beacons every 60 s to /gate.php, seen by the vendor sinkhole');
    expect(d.text).toContain('   first seen: 2025-01-05 08:15 UTC');
    expect(d.html).toContain('<li>first seen: <bdi dir="ltr">2025-01-05 08:15 UTC</bdi></li>');
    expect(d.html).toContain('Clone of a bank login page');
  });

  it('states the TLP of the content in the subject, the first line, a header and the HTML label, and what it allows', () => {
    const d = renderNotice(input());
    expect(d.subject).toMatch(/^\[TKD-n0123456789abcdef\] Takedown request: 3 malicious indicators for Demo Datacentre SARL - Africa Cyber Surge II \[TLP:AMBER\]$/);
    expect(d.text.split('\n')[0]).toBe('TLP:AMBER');
    expect(d.headers?.['X-TLP']).toBe('AMBER');
    expect(d.html).toMatch(/<span style="background:#000000;color:#FFC000;[^"]*">TLP:AMBER<\/span>/);
    expect(d.text).toContain('This information is shared under TLP:AMBER (the strictest marking among the indicators; each one shows its own).');
    expect(d.text).toContain('with its clients');
  });

  it('says what is asked of each kind of party, and the deadlines to answer and to act', () => {
    const asks: Record<PartyKind, string> = {
      hosting: 'suspend the servers or services listed below',
      registrar: 'suspend the domain names listed below',
      registry: 'suspend them at the registry (serverHold status',
      cert: 'coordinate the takedown in your country',
      upstream: 'have your customer suspend the service',
    };
    for (const [kind, ask] of Object.entries(asks) as [PartyKind, string][]) {
      const p = party({ kind, id: `${kind}:x` });
      const d = renderNotice(input({ notice: notice(p) }));
      expect(d.text, kind).toContain(ask);
      expect(d.html, kind).toContain(ask);
      for (const [other, otherAsk] of Object.entries(asks)) if (other !== kind) expect(d.text, `${kind} asks ${other}`).not.toContain(otherAsk);
    }
    const d = renderNotice(input());
    expect(d.text).toContain('Please answer by 2025-01-11 09:00 UTC (within 24 hours). Once you have acknowledged, please act within 3 days.');
    expect(renderNotice(input({ notice: notice(party(), { deadline: '2025-01-12T10:30:00.000Z' }) })).text).toContain('Please answer by 2025-01-12 10:30 UTC');
  });

  it('tells how to answer: the reply address and tag, the one-click links and the webhook when given', () => {
    const bare = renderNotice(input());
    const reply = replyAddress(SETTINGS.replyMailbox, 'n0123456789abcdef', TOKEN);
    expect(bare.replyTo).toBe(reply);
    expect(bare.text).toContain(`the reply goes to ${reply}. Keep [TKD-n0123456789abcdef] in the subject.`);
    expect(bare.html).toContain(`<a href="mailto:${reply}">`);
    expect(bare.text).not.toContain('Acknowledge:');
    expect(bare.text).not.toContain('/webhooks/answers');

    const d = renderNotice(input({ links: LINKS, settings: { ...SETTINGS, publicUrl: 'https://takedown.example/' } }));
    expect(d.text).toContain(`  Acknowledge: ${LINKS.acknowledge}\n  Taken down:  ${LINKS.actioned}\n  Not ours:    ${LINKS.notOurs}\n`);
    expect(d.html).toContain(`<a href="${LINKS.actioned}">Taken down</a>`);
    expect(d.text).toContain('post a signed answer (Standard Webhooks) for notice n0123456789abcdef to https://takedown.example/webhooks/answers');
    expect(renderNotice(input({ webhookUrl: 'https://hooks.example/in' })).text).toContain('to https://hooks.example/in');
  });

  it('puts the reply token only into the reply address, wherever the message shows it', () => {
    const d = renderNotice(input({ links: LINKS, settings: { ...SETTINGS, publicUrl: 'https://takedown.example' } }));
    const all = everything(d);
    expect(all).toContain(TOKEN);
    expect(all.split(d.replyTo).join('')).not.toContain(TOKEN);
    expect(d.attachments!.some((a) => a.content.includes(TOKEN))).toBe(false);
    expect(JSON.stringify(d.headers)).not.toContain(TOKEN);
  });

  it('refuses a link or webhook that is not an http(s) URL, without repeating it', () => {
    const bad = { ...LINKS, actioned: 'javascript:alert(1)' };
    const error = (() => {
      try {
        renderNotice(input({ links: bad }));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(TakedownError);
    expect((error as TakedownError).code).toBe('NOTICE.BAD_LINK');
    expect((error as Error).message).not.toContain('javascript');
    expect(() => renderNotice(input({ webhookUrl: 'https://x.example/"><script>' }))).toThrow(/webhook URL/);
  });

  it('makes a reminder reference the original notice, its tag and Message-ID, with a new deadline', () => {
    const sent = notice(party(), { state: 'sent', sentAt: '2025-01-08T09:00:00Z', deadline: '2025-01-09T09:00:00Z', remindersSent: 0 });
    const d = renderNotice(input({ notice: sent, reminder: { n: 1, originalMessageId: '<n0123456789abcdef.notice.0@reply.example>' } }));
    expect(d.subject).toMatch(/^\[TKD-n0123456789abcdef\] Reminder 1: Takedown request: 3 malicious indicators/);
    expect(d.inReplyTo).toBe('<n0123456789abcdef.notice.0@reply.example>');
    expect(d.text).toContain('This is reminder 1 of our notice TKD-n0123456789abcdef, sent on 2025-01-08 09:00 UTC (message <n0123456789abcdef.notice.0@reply.example>).');
    // the stored deadline has passed: a reminder gives a new answer period from now
    expect(d.text).toContain('Please answer by 2025-01-11 09:00 UTC');
    expect(d.text).not.toContain('As part of Africa Cyber Surge II');
  });

  it('makes an escalation say who was asked before, when, and that they did not act', () => {
    const cert = party({ kind: 'cert', id: 'cert:KE', name: 'KE CERT', email: 'incidents@cert-ke.example', country: 'KE' });
    const d = renderNotice(input({ notice: notice(cert), previous: { party: 'Example Hosting Ltd', sentAt: '2025-01-06T12:00:00Z' } }));
    expect(d.subject).toMatch(/^\[TKD-n0123456789abcdef\] Escalation: Takedown request/);
    expect(d.text).toContain('These indicators were first reported to Example Hosting Ltd on 2025-01-06 12:00 UTC, who did not act on them by the deadline.');
    expect(d.html).toContain('first reported to <bdi>Example Hosting Ltd</bdi> on <bdi dir="ltr">2025-01-06 12:00 UTC</bdi>, who did not act');
    expect(d.text).toContain('To the incident response team of KE CERT,');
  });

  it('escapes every value in the HTML and keeps the text as given', () => {
    const p = party({ name: 'Evil <b>Hosting</b> & "Co"' });
    const c = kase('c00000000000000b1', indicator('192.0.2.66', { evidence: '<script>alert(1)</script> & <img src=x onerror=y>' }), p);
    const d = renderNotice(input({ notice: notice(p), cases: [c], campaign: { ...CAMPAIGN, name: "Op <O'Brien>" } }));
    expect(d.html).not.toMatch(/<script|<img|<b>Hosting/);
    expect(d.html).toContain('Evil &lt;b&gt;Hosting&lt;/b&gt; &amp; &quot;Co&quot;');
    expect(d.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src=x onerror=y&gt;');
    expect(d.html).toContain('<title>[TKD-n0123456789abcdef] Takedown request: 1 malicious indicator for Evil &lt;b&gt;Hosting&lt;/b&gt;');
    expect(d.text).toContain('To the abuse team of Evil <b>Hosting</b> & "Co",');
    expect(d.text).toContain("As part of Op <O'Brien>,");
  });

  it('attaches one XARF report per indicator and one CSV of them all, and keeps it plain mail unless the party asks for ARF', () => {
    const d = renderNotice(input());
    expect(d.attachments!.map((a) => [a.filename, a.contentType])).toEqual([
      ['TKD-n0123456789abcdef-1.xarf.json', 'application/json'],
      ['TKD-n0123456789abcdef-2.xarf.json', 'application/json'],
      ['TKD-n0123456789abcdef-3.xarf.json', 'application/json'],
      ['TKD-n0123456789abcdef-indicators.csv', 'text/csv; charset=utf-8; header=present'],
    ]);
    const reports = d.attachments!.slice(0, 3).map((a) => JSON.parse(a.content) as Record<string, unknown>);
    expect(reports.map((r) => [r.source_identifier, r.category, r.type])).toEqual([
      ['198.51.100.23', 'infrastructure', 'botnet'],
      ['login-bank.example', 'content', 'phishing'],
      ['scam-shop.example', 'content', 'fraud'],
    ]);
    expect(reports[2]!.tags).toContain('tlp:green');
    expect(reports[0]!.reporter).toEqual({ org: 'Example National CERT', contact: 'takedown@cert.example', domain: 'cert.example' });
    expect(d.arf).toBeUndefined();
    expect(d.text).toContain('Attached: one XARF v4 report per indicator (3) and TKD-n0123456789abcdef-indicators.csv');
  });

  it('gives an ARF party the feedback-report fields, and a one-indicator notice its XARF report alone', () => {
    const p = party({ arf: true });
    const d = renderNotice(input({ notice: notice(p) }));
    expect(d.arf).toEqual({
      feedbackType: 'xarf',
      userAgent: expect.stringMatching(/^takedown-orchestrator\/\d/),
      incidents: 3,
      sourceIp: '198.51.100.23',
      arrivalDate: '2025-01-05T08:15:00.000Z',
      reportedDomains: ['login-bank.example', 'scam-shop.example'],
      reportedUris: ['http://login-bank.example/secure'],
    });
    expect(d.attachments).toHaveLength(4);
    const one = renderNotice(input({ notice: notice(p), cases: cases(p).slice(0, 1) }));
    expect(one.attachments!.map((a) => a.filename)).toEqual(['TKD-n0123456789abcdef-1.xarf.json']);
    // Source-IP appears once in a report: with two addresses it names neither
    const two = [kase('c00000000000000c1', indicator('192.0.2.1'), p), kase('c00000000000000c2', indicator('192.0.2.2'), p)];
    expect(renderNotice(input({ notice: notice(p), cases: two })).arf).toEqual({ feedbackType: 'xarf', userAgent: expect.any(String), incidents: 2 });
  });

  it('renders the same bytes for the same input (a retry composes the same message)', () => {
    expect(renderNotice(input({ links: LINKS }))).toEqual(renderNotice(input({ links: LINKS })));
    expect(NOW.toISOString()).toBe('2025-01-10T09:00:00.000Z');
  });

  it('shows the English text alone for an English-speaking recipient', () => {
    const d = renderNotice(input({ notice: notice(party({ country: 'KE' })) }));
    expect(d.text).not.toContain('English version');
    expect(englishText(d)).toBe(d.text);
    expect(d.html).toMatch(/<html lang="en" dir="ltr">/);
  });
});
