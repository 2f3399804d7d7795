/**
 * What is read of campaigns: status, the statistics a coordinator watches (per country, per provider, time to
 * action), finding anything by what one holds in hand, and exports people open in a spreadsheet (CSV, XLSX rows,
 * STIX, MISP). Computed from the store; nothing here changes a record.
 * This file is the context's public face: other contexts and the hosts import only what it exports.
 */
export { EXPORT_COLUMNS, derivedUuid, exportCsv, exportFile, exportMisp, exportStix, exportText, notifiedTag, spreadsheetText, stateTag, type ExportColumn } from './export-formats.js';
export { ExportFormat, campaignExport, indicatorOutcomes, type CampaignExport, type ExportRow, type IndicatorOutcome } from './export.js';
export { campaignCounts, campaignStats, casesByIndicator, countryOf, countsOf, partyOf, type CampaignCounts, type CampaignStats, type DurationStats, type Progress, type ProgressOverTime, type ProgressRow, type TimeToAction } from './stats.js';
export { campaignStatus, sendingProgress, type CampaignStatus } from './status.js';
export { CaseFilter, SearchQuery, caseMatches, search, type SearchResult } from './search.js';
