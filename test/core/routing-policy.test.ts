import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/core/errors.js';
import type { Indicator, Party } from '../../lib/core/model.js';
import { normaliseIndicator } from '../../lib/core/intake/normalise.js';
import type { PartyLookup } from '../../lib/core/ports.js';
import { buildLadder } from '../../lib/core/routing/ids.js';
import { DEFAULT_ROUTING_POLICY, parseRoutingPolicy } from '../../lib/core/routing/policy.js';
import { parseOverrideTarget } from '../../lib/core/routing/contacts.js';

const H = 3600;

function indicator(text: string, extra: Partial<Indicator> = {}): Indicator {
  const r = normaliseIndicator(text);
  if (!r.ok) throw new Error(r.reason);
  return { ...r.indicator, origin: 'test', ...extra };
}

function party(kind: Party['kind'], email: string, extra: Partial<Party> = {}): Party {
  return { id: `${kind}:${email}`, kind, name: `${kind} ${email}`, email, contactSource: 'rdap', ...extra };
}

const everyone: PartyLookup = {
  hosting: party('hosting', 'abuse@host.example', { country: 'KE' }),
  registrar: party('registrar', 'abuse@registrar.example'),
  upstream: party('upstream', 'abuse@transit.example'),
  cert: party('cert', 'incidents@cert-ke.example', { country: 'KE' }),
  country: 'KE',
  asn: 'AS64500',
};

const steps = (ladder: ReturnType<typeof buildLadder>) => ladder.map((s) => [s.party.kind, s.answerDeadline, s.actionDeadline, s.reminders]);

describe('the built-in routing policy', () => {
  it('sends a phishing URL to the hosting network (24 h), then the registrar (48 h), then the national CERT (72 h)', () => {
    expect(steps(buildLadder(indicator('http://login.bank.example/verify', { threat: 'phishing' }), everyone))).toStrictEqual([
      ['hosting', 24 * H, 72 * H, 1],
      ['registrar', 48 * H, 96 * H, 1],
      ['cert', 72 * H, 120 * H, 1],
    ]);
  });

  it('sends a C2 address to the hosting network (24 h), then the upstream AS (48 h), then the national CERT (72 h)', () => {
    expect(steps(buildLadder(indicator('192.0.2.10', { threat: 'c2' }), everyone))).toStrictEqual([
      ['hosting', 24 * H, 72 * H, 1],
      ['upstream', 48 * H, 96 * H, 1],
      ['cert', 72 * H, 120 * H, 1],
    ]);
  });

  it('starts a domain with its registrar', () => {
    expect(buildLadder(indicator('bad.example'), everyone).map((s) => s.party.kind)).toStrictEqual(['registrar', 'hosting', 'cert']);
  });

  it('closes up the ladder over parties nobody found, and asks one recipient once', () => {
    const found: PartyLookup = { registrar: party('registrar', 'abuse@registrar.example'), cert: party('cert', 'ABUSE@registrar.example') };
    expect(buildLadder(indicator('http://bad.example/x'), found).map((s) => s.party.kind)).toStrictEqual(['registrar']);
    expect(buildLadder(indicator('192.0.2.1'), {})).toStrictEqual([]);
  });
});

describe('a routing policy file', () => {
  const policy = parseRoutingPolicy({
    rules: [
      { name: 'C2 in Kenya', when: { kind: 'ip', threat: 'c2', country: 'ke' }, ladder: [{ party: 'cert', answerDeadline: '12h' }, { party: 'hosting', answerDeadline: 3600, reminders: 0 }] },
      { when: { provider: 'AS64500' }, ladder: [{ party: 'upstream', answerDeadline: '2d', actionDeadline: '1w' }] },
      { when: { kind: ['url', 'domain'], host: 'domain' }, ladder: [{ party: 'registrar', answerDeadline: '90m' }] },
      { ladder: [{ party: 'hosting' }] },
    ],
  });

  it('takes the first rule that matches: by kind, threat words and country, by provider, by host', () => {
    expect(steps(buildLadder(indicator('192.0.2.10', { threat: 'C2 server' }), everyone, policy))).toStrictEqual([
      ['cert', 12 * H, 120 * H, 1],
      ['hosting', H, 72 * H, 0],
    ]);
    expect(steps(buildLadder(indicator('192.0.2.10', { threat: 'scanner' }), everyone, policy))).toStrictEqual([['upstream', 48 * H, 168 * H, 1]]);
    expect(steps(buildLadder(indicator('http://a.example/'), { ...everyone, asn: 'AS1' }, policy))).toStrictEqual([['registrar', 90 * 60, 96 * H, 1]]);
    expect(buildLadder(indicator('http://192.0.2.5/'), { ...everyone, asn: 'AS1' }, policy).map((s) => s.party.kind)).toStrictEqual(['hosting']);
  });

  it('refuses a policy that would leave an indicator without a ladder, or is not one, naming each bad field', () => {
    const issues = (data: unknown) => {
      try {
        parseRoutingPolicy(data);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidInputError);
        return (e as InvalidInputError).issues.map((i) => `${i.where}: ${i.reason}`);
      }
      throw new Error('accepted');
    };
    expect(issues({ rules: [{ when: { kind: 'ip' }, ladder: [{ party: 'hosting' }] }] })).toStrictEqual([
      'rules[0].when: the last rule must have no conditions, so that every indicator gets a ladder',
    ]);
    expect(issues({ rules: [{ ladder: [{ party: 'hosting' }, { party: 'hosting' }] }] })).toStrictEqual(['rules[0].ladder[1].party: hosting appears twice in this ladder']);
    const many = issues({ rules: [{ ladder: [{ party: 'isp', answerDeadline: '2 days' }], colour: 'red' }] });
    expect(many).toHaveLength(3);
    expect(many.join('\n')).toMatch(/rules\[0\]\.ladder\[0\]\.party/);
    expect(many.join('\n')).toMatch(/rules\[0\]\.ladder\[0\]\.answerDeadline/);
    expect(many.join('\n')).toMatch(/colour/);
    expect(issues(null)).toStrictEqual(['file: empty']);
    expect(issues({ rules: [] })[0]).toMatch(/^rules:/);
  });

  it('is what the built-in policy is made of', () => {
    expect(DEFAULT_ROUTING_POLICY.rules.at(-1)?.when).toStrictEqual({});
  });
});

describe('parseOverrideTarget', () => {
  it('reads a network, a domain or a party id, in canonical form', () => {
    expect(parseOverrideTarget('198.51.100.0/24')).toStrictEqual({ target: '198.51.100.0/24', targetKind: 'network' });
    expect(parseOverrideTarget('2001:DB8:0::/32')).toStrictEqual({ target: '2001:db8::/32', targetKind: 'network' });
    expect(parseOverrideTarget('Shop.Example')).toStrictEqual({ target: 'shop.example', targetKind: 'domain' });
    expect(parseOverrideTarget('registrar:iana:1251')).toStrictEqual({ target: 'registrar:iana:1251', targetKind: 'party' });
    expect(parseOverrideTarget('as64500')).toStrictEqual({ target: 'upstream:AS64500', targetKind: 'party' });
    expect(parseOverrideTarget('cert:ke')).toStrictEqual({ target: 'cert:KE', targetKind: 'party' });
  });

  it('says why a target is none', () => {
    expect(parseOverrideTarget('198.51.100.7/24')).toStrictEqual({ reason: 'the address has bits set beyond the prefix length' });
    expect(parseOverrideTarget('198.51.100.7')).toStrictEqual({ reason: 'an address: give its network as a CIDR (198.51.100.0/24)' });
    expect(parseOverrideTarget('cert:Kenya')).toStrictEqual({ reason: 'a CERT is named by its country: cert:KE' });
  });
});
