export { parseIndicators, readIndicators, type ExcludedItem, type IntakeFormat, type IntakeSummary } from './intake.js';
export { normaliseDomainSuffix, normaliseIndicator } from './normalise.js';
export { isTextSource, textSource, type TextSource } from './text-source.js';
export { strictestTlp, tlpDecision, tlpHandling, type TlpPermission } from './tlp.js';
