/**
 * Intake: reading a submitted file (STIX 2.1, MISP, CSV, a list) all or nothing, normalised and deduplicated, with
 * each indicator's TLP marking.
 * This file is the context's public face: other contexts and the hosts import only what it exports.
 */
export { parseIndicators, readIndicators, type ExcludedItem, type IntakeFormat, type IntakeSummary } from './intake.js';
export { normaliseDomainSuffix, normaliseIndicator } from './normalise.js';
export { isTextSource, textSource, type TextSource } from './text-source.js';
