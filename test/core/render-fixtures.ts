import type { Campaign, Case, Indicator, Notice, Party } from '../../lib/core/model.js';
import { normaliseIndicator } from '../../lib/core/intake/normalise.js';
import type { Settings } from '../../lib/core/ports.js';
import type { RenderInput } from '../../lib/core/notices/render/render.js';
import { loadTemplates } from '../../lib/adapters/templates/templates.fs.js';

/** Shared inputs of the renderNotice tests: documentation addresses only (RFC 5737, RFC 3849, RFC 2606). */

export const TOKEN = '0123456789abcdefghijklmnopqrstuv';

export const SETTINGS: Settings = {
  replyMailbox: 'takedown@reply.example',
  fromAddress: 'CERT Takedown Desk <takedown@cert.example>',
  senderName: 'Example National CERT',
  pageSize: 100,
};

export function party(over: Partial<Party> = {}): Party {
  return { id: 'hosting:198.51.100.0/24', kind: 'hosting', name: 'Demo Datacentre SARL', email: 'abuse@demo-dc.example', contactSource: 'directory', ...over };
}

export function indicator(raw: string, over: Partial<Indicator> = {}): Indicator {
  const result = normaliseIndicator(raw);
  if (!result.ok) throw new Error(result.reason);
  return { ...result.indicator, origin: 'test', ...over };
}

export const CAMPAIGN: Campaign = {
  id: 'cmp_acs2',
  name: 'Africa Cyber Surge II',
  tlp: 'AMBER',
  legalBasis: 'Cybercrime Act, section 12',
  submitter: 'coordinator',
  source: { format: 'csv' },
  requireApproval: false,
  tlpPermission: { notifyOperators: true, grantedBy: 'vendor', grantedAt: '2025-01-01T00:00:00Z' },
  state: 'running',
  createdAt: '2025-01-01T00:00:00Z',
  counts: { submitted: 3, indicators: 3, duplicates: 0, unroutable: 0, cases: 3, notices: 1 },
  version: 1,
};

export function notice(p: Party = party(), over: Partial<Notice> = {}): Notice {
  return {
    id: 'n0123456789abcdef',
    campaignId: CAMPAIGN.id,
    party: p,
    step: 0,
    round: 1,
    state: 'planned',
    tag: 'TKD-n0123456789abcdef',
    tokenHash: '',
    caseCount: 3,
    answerDeadline: 86400,
    actionDeadline: 3 * 86400,
    remindersAllowed: 1,
    remindersSent: 0,
    appliedAnswers: [],
    updatedAt: '2025-01-01T00:00:00Z',
    version: 1,
    ...over,
  };
}

export function kase(id: string, ind: Indicator, p: Party = party()): Case {
  return {
    id,
    campaignId: CAMPAIGN.id,
    indicator: ind,
    ladder: [{ party: p, answerDeadline: 86400, actionDeadline: 3 * 86400, reminders: 1 }],
    step: 0,
    state: 'open',
    updatedAt: '2025-01-01T00:00:00Z',
    version: 1,
  };
}

/** A C2 address, a phishing URL with evidence, and a GREEN domain: the shapes an operation hands over. */
export function cases(p: Party = party()): Case[] {
  return [
    kase('c00000000000000a1', indicator('198.51.100.23', { threat: 'C2', firstSeen: '2025-01-05T08:15:00Z', evidence: 'Beacons every 60 s to /gate.php,\nseen by the vendor sinkhole' }), p),
    kase('c00000000000000a2', indicator('hxxp://login-bank[.]example/secure', { threat: 'phishing', evidence: 'Clone of a bank login page' }), p),
    kase('c00000000000000a3', indicator('scam-shop.example', { threat: 'fake shop', tlp: 'GREEN' }), p),
  ];
}

export const NOW = new Date('2025-01-10T09:00:00Z');

export function input(over: Partial<RenderInput> = {}): RenderInput {
  const p = over.notice?.party ?? party();
  return {
    notice: notice(p),
    campaign: CAMPAIGN,
    cases: cases(p),
    token: TOKEN,
    messageId: '<n0123456789abcdef.notice.0@reply.example>',
    settings: SETTINGS,
    // read at each call: a test may point TAKEDOWN_TEMPLATES_DIR elsewhere
    templates: loadTemplates(),
    now: NOW,
    ...over,
  };
}
