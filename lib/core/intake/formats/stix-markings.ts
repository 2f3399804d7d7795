import type { TLP } from '../../model.js';
import { STIX_TLP2_EXTENSION, STIX_TLP_MARKINGS, stricterTlp, strictestTlp, tlpFromText } from '../../tlp.js';
import type { InputIssue } from '../../errors.js';
import { MAX_EVIDENCE, clipText } from '../common.js';

/**
 * TLP markings of STIX objects: marking definitions (TLP 1.0 and 2.0), object and granular markings, and which
 * level covers which field, so that a value keeps the marking of the field it came from.
 */

/**
 * STIX 2.1 bundles: `indicator` objects (their STIX patterns) and the SCOs an `infrastructure` object
 * `consists-of`. Markings come from `object_marking_refs` and `granular_markings`, resolved through the
 * bundle's `marking-definition` objects or the well-known TLP 1.0 / 2.0 ids. Every problem is named by the
 * STIX id of the object it is in.
 */

export type StixObject = Record<string, unknown> & { type: string; id: string };

/** Free text that may be dropped from a notice when it is marked more strictly than the indicator itself. */
const TEXT_FIELDS = ['name', 'description'];

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export const isStixObject = (o: unknown): o is StixObject => isObject(o) && typeof o.type === 'string' && typeof o.id === 'string' && o.id.startsWith(`${o.type}--`);

/** Resolves marking-definition ids to a TLP level (undefined: a marking that is not TLP, such as a statement). */
export class MarkingResolver {
  /** every id resolved so far: a definition of one of them that comes later changes what was read */
  readonly asked = new Set<string>();

  constructor(private readonly definitions: ReadonlyMap<string, StixObject>) {}

  /** `unknown` when the id is neither well known nor defined in the bundle */
  resolve(id: string): TLP | undefined | 'unknown' {
    this.asked.add(id);
    const known = STIX_TLP_MARKINGS[id];
    const def = this.definitions.get(id);
    const defined = def && def.type === 'marking-definition' ? definitionTlp(def) : undefined;
    // a bundle that redefines a well-known id cannot loosen it: the stricter reading wins
    if (known) return defined ? stricterTlp(known, defined) : known;
    if (def && def.type === 'marking-definition') return defined;
    return 'unknown';
  }
}

/** The TLP level a marking-definition object defines: TLP 1.0 `definition.tlp`, the TLP 2.0 extension, or its name. */
function definitionTlp(def: StixObject): TLP | undefined {
  const levels: (TLP | undefined)[] = [];
  if (def.definition_type === 'tlp' && isObject(def.definition) && typeof def.definition.tlp === 'string') {
    levels.push(tlpFromText(def.definition.tlp) ?? 'RED');
  }
  const ext = isObject(def.extensions) ? def.extensions[STIX_TLP2_EXTENSION] : undefined;
  if (isObject(ext) && typeof ext.tlp_2_0 === 'string') levels.push(tlpFromText(ext.tlp_2_0) ?? 'RED');
  if (typeof def.name === 'string' && /^\s*TLP\s*:/i.test(def.name)) levels.push(tlpFromText(def.name) ?? 'RED');
  return strictestTlp(levels);
}

interface Markings {
  /** the level of the content forwarded (undefined: not marked) */
  readonly tlp: TLP | undefined;
  /** the granular level of each text field that has one */
  readonly textLevels: ReadonlyMap<string, TLP>;
  readonly issues: InputIssue[];
}

function selects(selector: string, field: string): boolean {
  return selector === field || selector.startsWith(`${field}.`) || selector.startsWith(`${field}[`);
}

/**
 * The TLP of an object's forwarded content: object-level markings and the granular markings of its core
 * fields. A reference nobody can resolve is an error: an unreadable marking is never read as no marking.
 */
export function markingsOf(obj: StixObject, core: readonly string[], resolver: MarkingResolver): Markings {
  const issues: InputIssue[] = [];
  const read = (ref: unknown): TLP | undefined => {
    if (typeof ref !== 'string') {
      issues.push({ where: obj.id, reason: 'a marking reference that is not a string' });
      return undefined;
    }
    const tlp = resolver.resolve(ref);
    if (tlp === 'unknown') {
      issues.push({ where: obj.id, reason: `${ref.slice(0, 80)} is neither a known TLP marking nor defined in the bundle` });
      return undefined;
    }
    return tlp;
  };
  const levels: (TLP | undefined)[] = [];
  const refs = obj.object_marking_refs;
  if (refs !== undefined) {
    if (Array.isArray(refs)) for (const ref of refs) levels.push(read(ref));
    else issues.push({ where: obj.id, reason: 'object_marking_refs is not a list' });
  }
  const textLevels = new Map<string, TLP>();
  const granular = obj.granular_markings;
  if (granular !== undefined && !Array.isArray(granular)) issues.push({ where: obj.id, reason: 'granular_markings is not a list' });
  for (const g of Array.isArray(granular) ? granular : []) {
    if (!isObject(g) || !Array.isArray(g.selectors)) {
      issues.push({ where: obj.id, reason: 'a granular marking without selectors' });
      continue;
    }
    // a language marking (`lang`) is not a handling restriction
    if (g.marking_ref === undefined) continue;
    const tlp = read(g.marking_ref);
    if (!tlp) continue;
    for (const selector of g.selectors) {
      if (typeof selector !== 'string') continue;
      if (core.some((f) => selects(selector, f))) levels.push(tlp);
      for (const f of TEXT_FIELDS) if (selects(selector, f)) textLevels.set(f, stricterTlp(textLevels.get(f) ?? 'CLEAR', tlp));
    }
  }
  return { tlp: strictestTlp(levels), textLevels, issues };
}

/**
 * The object's name and description as evidence, leaving out a field marked more strictly than the content
 * it goes with (rather than raising the indicator's level for the sake of a comment). Unmarked content is
 * judged as CLEAR here: the campaign's level is not known yet, so the text is kept only when it cannot be stricter.
 */
export function textOf(obj: StixObject, textLevels: ReadonlyMap<string, TLP>, content: TLP | undefined): string | undefined {
  const base = content ?? 'CLEAR';
  const parts = TEXT_FIELDS.filter((f) => {
    const level = textLevels.get(f);
    return !level || stricterTlp(level, base) === base;
  })
    .map((f) => str(obj[f])?.trim())
    .filter((s): s is string => !!s);
  return parts.length ? clipText(parts.join(' — '), MAX_EVIDENCE) : undefined;
}
