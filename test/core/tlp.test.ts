import { describe, expect, it } from 'vitest';
import type { Campaign, Case, Indicator, Notice, Party, TLP } from '../../lib/core/model.js';
import { contentTlp, renderNotice } from '../../lib/core/notices/render/render.js';
import { decideRoute, type RoutePolicy } from '../../lib/core/routing/plan.js';
import { stricterTlp, tlpDecision, tlpFromText, TLP_ORDER } from '../../lib/core/tlp.js';
import { loadTemplates } from '../../lib/adapters/templates/templates.fs.js';

const party = (kind: Party['kind'], name: string, email: string): Party => ({ id: `${kind}:${name}`, kind, name, email, contactSource: 'directory', matchedBy: kind === 'cert' ? 'KE' : '192.0.2.0/24' });
const HOSTING = party('hosting', 'Example Hosting Ltd', 'abuse@hosting.example');
const CERT = party('cert', 'KE CERT (example)', 'incidents@cert-ke.example');

function ip(value: string, tlp?: TLP): Indicator {
  return { value, kind: 'ipv4', host: value, hostKind: 'ipv4', raw: value, origin: 'line 1', ...(tlp ? { tlp } : {}) };
}

const policy = (over: Partial<RoutePolicy> = {}): RoutePolicy => ({ campaignTlp: 'AMBER', campaignTlpFrom: 'default', ...over });
const PERMISSION = { notifyOperators: true as const, grantedBy: 'Vendor X liaison', grantedAt: '2025-05-01T00:00:00.000Z' };

describe('tlpDecision', () => {
  it('decides every level for an operator and a CERT, with and without the permission', () => {
    const rows = TLP_ORDER.flatMap((tlp) =>
      [false, true].map((permitted) => [tlp, permitted, tlpDecision(tlp, HOSTING, permitted).allowed, tlpDecision(tlp, CERT, permitted).allowed]),
    );
    expect(rows).toEqual([
      ['CLEAR', false, true, true],
      ['CLEAR', true, true, true],
      ['GREEN', false, true, true],
      ['GREEN', true, true, true],
      ['AMBER', false, false, false],
      ['AMBER', true, true, true],
      ['AMBER+STRICT', false, false, false],
      ['AMBER+STRICT', true, true, false],
      ['RED', false, false, false],
      ['RED', true, false, false],
    ]);
  });

  it('lets AMBER+STRICT reach only the operator itself, not an upstream or a registry', () => {
    for (const kind of ['upstream', 'registry'] as const) {
      const other = party(kind, `Some ${kind}`, `abuse@${kind}.example`);
      expect([tlpDecision('AMBER', other, true).allowed, tlpDecision('AMBER+STRICT', other, true).allowed], kind).toEqual([true, false]);
    }
    expect(tlpDecision('AMBER+STRICT', party('registrar', 'Example Registrar', 'abuse@registrar.example'), true).allowed).toBe(true);
  });

  it('says why it blocks', () => {
    expect(tlpDecision('RED', HOSTING, true)).toEqual({ allowed: false, reason: 'TLP:RED is for the named recipients only and never leaves' });
    expect(tlpDecision('AMBER', HOSTING, false)).toEqual({ allowed: false, reason: "TLP:AMBER without the source's permission to notify the infrastructure's operators" });
    expect(tlpDecision('AMBER+STRICT', CERT, true)).toMatchObject({ allowed: false, reason: expect.stringContaining('stays with the operator itself') });
  });
});

describe('tlpFromText and stricterTlp', () => {
  it('reads the ways sources write a level, and nothing else', () => {
    expect(['TLP:AMBER', 'amber', 'tlp:white', 'TLP: CLEAR', 'tlp:amber+strict', 'AMBER_STRICT', 'Red'].map(tlpFromText)).toEqual(['AMBER', 'AMBER', 'CLEAR', 'CLEAR', 'AMBER+STRICT', 'AMBER+STRICT', 'RED']);
    expect(['tlp:ex:chr', 'yellow', '', 'TLP:AMBER+'].map(tlpFromText)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('orders the levels from CLEAR to RED', () => {
    expect(stricterTlp('GREEN', 'AMBER+STRICT')).toBe('AMBER+STRICT');
    expect(stricterTlp('RED', 'CLEAR')).toBe('RED');
  });
});

describe('decideRoute', () => {
  const found = { hosting: HOSTING, cert: CERT };

  it('sends unmarked material under the configured default, the submitter being its source', () => {
    const d = decideRoute(ip('192.0.2.1'), found, policy());
    expect(d).toMatchObject({ outcome: 'notify', tlpFrom: 'default', indicator: { tlp: 'AMBER' } });
    expect(d.outcome === 'notify' && d.ladder.map((s) => s.party.kind)).toEqual(['hosting', 'cert']);
  });

  it('withholds AMBER the source marked, or the submitter stated for the file, without a permission', () => {
    const own = decideRoute(ip('192.0.2.1', 'AMBER'), found, policy());
    expect(own).toMatchObject({ outcome: 'withheld', tlpFrom: 'marking', party: HOSTING });
    const stated = decideRoute(ip('192.0.2.1'), found, policy({ campaignTlpFrom: 'input' }));
    expect(stated).toMatchObject({ outcome: 'withheld', tlpFrom: 'campaign' });
    expect(stated.outcome === 'withheld' && stated.ladder).toHaveLength(2);
  });

  it('sends AMBER with the permission, and keeps AMBER+STRICT from the CERT rung', () => {
    const amber = decideRoute(ip('192.0.2.1', 'AMBER'), found, policy({ permission: PERMISSION }));
    expect(amber.outcome === 'notify' && amber.ladder.map((s) => s.party.kind)).toEqual(['hosting', 'cert']);
    const strict = decideRoute(ip('192.0.2.1', 'AMBER+STRICT'), found, policy({ permission: PERMISSION }));
    expect(strict.outcome === 'notify' && strict.ladder.map((s) => s.party.kind)).toEqual(['hosting']);
    expect(strict.outcome === 'notify' && strict.blocked.map((b) => b.party.kind)).toEqual(['cert']);
    // a CERT as the only party: nobody the marking allows
    expect(decideRoute(ip('192.0.2.1', 'AMBER+STRICT'), { cert: CERT }, policy({ permission: PERMISSION })).outcome).toBe('withheld');
  });

  it('never lets RED go, whatever the permission or its source', () => {
    for (const d of [
      decideRoute(ip('192.0.2.1', 'RED'), found, policy({ permission: PERMISSION })),
      decideRoute(ip('192.0.2.1'), found, policy({ campaignTlp: 'RED' })),
      decideRoute(ip('192.0.2.1'), found, policy({ campaignTlp: 'RED', campaignTlpFrom: 'input', permission: PERMISSION })),
    ]) {
      expect(d.outcome).toBe('withheld');
    }
  });

  it('lets an indicator own marking win over the campaign level, even a looser one', () => {
    expect(decideRoute(ip('192.0.2.1', 'GREEN'), found, policy({ campaignTlp: 'RED', campaignTlpFrom: 'input' }))).toMatchObject({ outcome: 'notify', indicator: { tlp: 'GREEN' } });
  });

  it('says unroutable when nobody is found, whatever the marking', () => {
    expect(decideRoute(ip('10.0.0.1', 'RED'), {}, policy()).outcome).toBe('unroutable');
  });
});

describe('renderNotice and TLP', () => {
  const campaign: Campaign = {
    id: 'cmp_1', name: 'Op Test', tlp: 'AMBER', submitter: 't', source: { format: 'stix' }, requireApproval: false, state: 'running', createdAt: '2025-01-01T00:00:00Z',
    counts: { submitted: 2, indicators: 2, duplicates: 0, unroutable: 0, cases: 2, notices: 1 }, version: 1,
  };
  const notice: Notice = {
    id: 'n0000000000000001', campaignId: 'cmp_1', party: HOSTING, step: 0, round: 1, state: 'planned', tag: 'TKD-n0000000000000001', tokenHash: '', caseCount: 2,
    answerDeadline: 86400, actionDeadline: 86400, remindersAllowed: 1, remindersSent: 0, appliedAnswers: [], updatedAt: '2025-01-01T00:00:00Z', version: 1,
  };
  const kase = (value: string, tlp?: TLP): Case => ({
    id: `c_${value}`, campaignId: 'cmp_1', indicator: ip(value, tlp), ladder: [{ party: HOSTING, answerDeadline: 86400, actionDeadline: 86400, reminders: 1 }], step: 0, state: 'open', updatedAt: '2025-01-01T00:00:00Z', version: 1,
  });
  const render = (cases: Case[]) =>
    renderNotice({ notice, campaign, cases, token: 'tok', messageId: '<m@reply.example>', now: new Date('2025-01-01T00:00:00Z'), templates: loadTemplates(), settings: { replyMailbox: 'takedown@reply.example', fromAddress: 'takedown@reply.example', senderName: 'Test', pageSize: 10 } });

  it('states the strictest level of its content in the subject, the body and a header, and what it allows', () => {
    const draft = render([kase('192.0.2.1', 'GREEN'), kase('192.0.2.2', 'AMBER+STRICT')]);
    expect(draft.subject).toContain('[TLP:AMBER+STRICT]');
    expect(draft.text.split('\n')[0]).toBe('TLP:AMBER+STRICT');
    expect(draft.headers?.['X-TLP']).toBe('AMBER+STRICT');
    expect(draft.text).toContain('do not pass it to your customers');
    // a mixed notice shows each indicator's own marking
    expect(draft.text).toContain('   marking: TLP:GREEN');
    expect(draft.text).toContain('   marking: TLP:AMBER+STRICT');
  });

  it('labels unmarked indicators with the campaign level, and says nothing of mixed markings when all agree', () => {
    const draft = render([kase('192.0.2.1'), kase('192.0.2.2')]);
    expect(draft.subject).toContain('[TLP:AMBER]');
    // every indicator shows its marking (notices list each indicator's TLP), here all the campaign's
    expect(draft.text.match(/ {3}marking: TLP:AMBER\n/g)).toHaveLength(2);
    expect(draft.text).not.toContain('strictest marking');
    expect(draft.text).toContain('with its clients');
  });

  it('refuses to render anything that holds a RED indicator', () => {
    expect(() => render([kase('192.0.2.1', 'GREEN'), kase('192.0.2.2', 'RED')])).toThrow(/TLP:RED/);
    expect(() => contentTlp({ tlp: 'RED' }, [{ indicator: ip('192.0.2.1') }])).toThrow(/TLP:RED/);
  });
});
