import { createHash } from 'node:crypto';
import type { TLP } from '../model.js';
import { STIX_TLP2_EXTENSION } from '../tlp.js';
import { indicatorOutcomes, type CampaignExport, type ExportFormat, type ExportRow, type IndicatorOutcome } from './export.js';

/**
 * The export formats that are text: CSV (one row per case), a STIX 2.1 bundle (the indicators, each case's
 * outcome as a `note`) and a MISP event (an attribute per indicator, its outcome in tags). The XLSX workbook is
 * laid out by an adapter from EXPORT_COLUMNS and spreadsheetText.
 */

/** One column of the tabular exports (CSV, XLSX). */
export interface ExportColumn {
  readonly header: string;
  /** a number stays a number in a spreadsheet; text is defused (spreadsheetText) */
  readonly value: (row: ExportRow) => string | number | undefined;
  /** width in characters, for the workbook */
  readonly width: number;
}

const hours = (seconds: number | undefined) => (seconds === undefined ? undefined : Math.round((seconds / 3600) * 100) / 100);

/** The columns of the CSV and the workbook, in order. */
export const EXPORT_COLUMNS: readonly ExportColumn[] = [
  { header: 'indicator', value: (r) => r.indicator, width: 40 },
  { header: 'kind', value: (r) => r.kind, width: 7 },
  { header: 'country', value: (r) => r.country, width: 8 },
  { header: 'party', value: (r) => r.party, width: 30 },
  { header: 'party_kind', value: (r) => r.partyKind, width: 10 },
  { header: 'contact', value: (r) => r.contact, width: 30 },
  { header: 'state', value: (r) => r.state, width: 14 },
  { header: 'tlp', value: (r) => `TLP:${r.tlp}`, width: 16 },
  { header: 'first_notice', value: (r) => r.firstNoticeAt, width: 25 },
  { header: 'notice_sent', value: (r) => r.noticeSentAt, width: 25 },
  { header: 'answer', value: (r) => r.answer, width: 13 },
  { header: 'answered_at', value: (r) => r.answeredAt, width: 25 },
  { header: 'verified_down_at', value: (r) => r.verifiedDownAt, width: 25 },
  { header: 'time_to_takedown_hours', value: (r) => hours(r.timeToTakedownSeconds), width: 12 },
  { header: 'probe_verdict', value: (r) => r.probeVerdict, width: 12 },
  { header: 'probe_at', value: (r) => r.probeAt, width: 25 },
  { header: 'threat', value: (r) => r.threat, width: 14 },
  { header: 'case_id', value: (r) => r.caseId, width: 19 },
];

/**
 * Text a spreadsheet shows as text and never runs: a cell starting like a formula (= + - @, a tab or a CR) gets
 * an apostrophe in front, as the notices' CSV attachments do (party names and notes come from outside sources).
 */
export function spreadsheetText(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'number') return String(value);
  const safe = spreadsheetText(value);
  return /[",\r\n]|^\s|\s$/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** RFC 4180 CSV, one row per case, with a header row. */
export function exportCsv(data: CampaignExport): string {
  const lines = [EXPORT_COLUMNS.map((c) => c.header).join(',')];
  for (const row of data.rows) lines.push(EXPORT_COLUMNS.map((c) => csvCell(c.value(row))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** A UUID (version 5 layout) derived from text: the same campaign and indicator give the same STIX or MISP id. */
export function derivedUuid(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The TLP 2.0 marking-definition id of each level (the ids tlp.ts reads back). */
export const TLP2_MARKING: Readonly<Record<TLP, string>> = {
  CLEAR: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  GREEN: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  AMBER: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  'AMBER+STRICT': 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  RED: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
};

function tlpMarkingDefinition(tlp: TLP): Record<string, unknown> {
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: TLP2_MARKING[tlp],
    created: '2022-10-01T00:00:00.000Z',
    name: `TLP:${tlp}`,
    extensions: { [STIX_TLP2_EXTENSION]: { extension_type: 'property-extension', tlp_2_0: tlp.toLowerCase() } },
  };
}

const PATTERN_OBJECT: Readonly<Record<string, string>> = { url: 'url', domain: 'domain-name', ipv4: 'ipv4-addr', ipv6: 'ipv6-addr' };

function stixString(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

function noteContent(r: ExportRow): string {
  const parts = [`${r.party} (${r.partyKind}, ${r.contact}): ${r.state}`];
  if (r.noticeSentAt) parts.push(`notice sent ${r.noticeSentAt}`);
  if (r.answer) parts.push(`answered "${r.answer}" ${r.answeredAt ?? ''}`.trim());
  if (r.verifiedDownAt) parts.push(`verified down ${r.verifiedDownAt}`);
  if (r.timeToTakedownSeconds !== undefined) parts.push(`time to takedown ${hours(r.timeToTakedownSeconds)} h`);
  if (r.probeVerdict) parts.push(`last probe: ${r.probeVerdict} at ${r.probeAt ?? ''}`.trim());
  return parts.join('; ');
}

/**
 * A STIX 2.1 bundle: an `indicator` per indicator (its pattern as the STIX intake reads it), a `note` per case
 * with the outcome, each marked with its TLP 2.0 level (the marking definitions are in the bundle).
 */
export function exportStix(data: CampaignExport): string {
  const { campaign, at } = data;
  const outcomes = indicatorOutcomes(data.rows);
  const levels = new Set<TLP>();
  const objects: Record<string, unknown>[] = [];
  for (const o of outcomes) {
    levels.add(o.tlp);
    const id = `indicator--${derivedUuid(campaign.id, 'indicator', o.indicator)}`;
    const marking = [TLP2_MARKING[o.tlp]];
    objects.push({
      type: 'indicator',
      spec_version: '2.1',
      id,
      created: campaign.createdAt,
      modified: at,
      name: o.indicator,
      description: `Takedown campaign "${campaign.name}" (${campaign.id}): ${o.state}`,
      indicator_types: ['malicious-activity'],
      pattern: `[${PATTERN_OBJECT[o.kind]}:value = '${stixString(o.indicator)}']`,
      pattern_type: 'stix',
      valid_from: campaign.createdAt,
      labels: [`takedown:${o.state}`],
      object_marking_refs: marking,
    });
    for (const r of o.rows) {
      objects.push({
        type: 'note',
        spec_version: '2.1',
        id: `note--${derivedUuid(campaign.id, 'note', r.caseId)}`,
        created: r.noticeSentAt ?? campaign.createdAt,
        modified: at,
        abstract: `takedown ${r.state}: ${r.partyKind}`,
        content: noteContent(r),
        object_refs: [id],
        object_marking_refs: [TLP2_MARKING[r.tlp]],
      });
    }
  }
  const bundle = {
    type: 'bundle',
    id: `bundle--${derivedUuid(campaign.id, 'bundle', at)}`,
    objects: [...[...levels].map(tlpMarkingDefinition), ...objects],
  };
  return `${JSON.stringify(bundle, null, 2)}\n`;
}

/** The MISP tag of an indicator's takedown state, as the MISP sync attaches it. */
export function stateTag(state: string): string {
  return `takedown:state="${state}"`;
}

/** The MISP tag saying a kind of party was sent a notice. */
export function notifiedTag(kind: string): string {
  return `takedown:notified="${kind}"`;
}

function mispType(o: IndicatorOutcome): { type: string; value: string } {
  if (o.kind === 'url') return { type: 'url', value: o.indicator };
  if (o.kind === 'domain') return { type: 'domain', value: o.indicator };
  return o.port !== undefined ? { type: 'ip-dst|port', value: `${o.indicator}|${o.port}` } : { type: 'ip-dst', value: o.indicator };
}

/**
 * A MISP event (`{"Event": ...}`, as MISP exports and imports it): an attribute per indicator, its outcome in
 * `takedown:` tags and a comment, its TLP as a `tlp:` tag. A verified takedown is no longer for detection
 * (`to_ids: false`), so feeding the export back in leaves it out.
 */
export function exportMisp(data: CampaignExport): string {
  const { campaign, at } = data;
  const outcomes = indicatorOutcomes(data.rows);
  const unix = String(Math.floor(Date.parse(at) / 1000));
  const attributes = outcomes.map((o) => {
    const { type, value } = mispType(o);
    const tags = [stateTag(o.state), ...o.notified.map(notifiedTag), `tlp:${o.tlp.toLowerCase()}`];
    return {
      uuid: derivedUuid(campaign.id, 'misp-attribute', o.indicator),
      type,
      category: 'Network activity',
      value,
      to_ids: o.state !== 'verified-down',
      distribution: '5',
      timestamp: unix,
      comment: o.rows.map(noteContent).join(' | ').slice(0, 60_000) + (o.origin ? ` (source: ${o.origin})` : ''),
      Tag: tags.map((name) => ({ name })),
    };
  });
  const event = {
    Event: {
      uuid: derivedUuid(campaign.id, 'misp-event'),
      info: `Takedown outcome: ${campaign.name} (${campaign.id})`,
      date: at.slice(0, 10),
      threat_level_id: '4',
      analysis: '2',
      distribution: '0',
      published: false,
      timestamp: unix,
      Tag: [{ name: `tlp:${campaign.tlp.toLowerCase()}` }],
      Attribute: attributes,
    },
  };
  return `${JSON.stringify(event, null, 2)}\n`;
}

/** The text of an export in a text format (everything but XLSX). */
export function exportText(data: CampaignExport, format: Exclude<ExportFormat, 'xlsx'>): string {
  return format === 'csv' ? exportCsv(data) : format === 'stix' ? exportStix(data) : exportMisp(data);
}

/** The file name and media type of an export. */
export function exportFile(campaignId: string, format: ExportFormat): { filename: string; contentType: string } {
  switch (format) {
    case 'csv':
      return { filename: `${campaignId}.csv`, contentType: 'text/csv; charset=utf-8' };
    case 'xlsx':
      return { filename: `${campaignId}.xlsx`, contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' };
    case 'stix':
      return { filename: `${campaignId}.stix.json`, contentType: 'application/stix+json;version=2.1' };
    case 'misp':
      return { filename: `${campaignId}.misp.json`, contentType: 'application/json' };
  }
}
