/**
 * A campaign's lifecycle: submission, routing, the plan and its approval, the start of its notices, a
 * coordinator's hand on the clock, status, statistics, and resuming everything after a restart; its exports, the
 * feeds that make campaigns, and writing its outcome back to where its indicators came from.
 * This file is the context's public face: other contexts and the hosts import only what it exports.
 */
export { approveCampaign, awaitApproval, cancelCampaign } from './approval.js';
export { ControlAction, control, controlPreview, expiredCases, targetOf, type ControlOptions, type ControlPreview, type ControlResult } from './control.js';
export { planSubmission } from './dry-run.js';
export { EXPORT_COLUMNS, derivedUuid, exportCsv, exportFile, exportMisp, exportStix, exportText, notifiedTag, spreadsheetText, stateTag, type ExportColumn } from './export-formats.js';
export { ExportFormat, campaignExport, indicatorOutcomes, type CampaignExport, type ExportRow, type IndicatorOutcome } from './export.js';
export { FeedOrigin, campaignOrigin, pollFeed, recordCampaignOrigin, type FeedBatch, type FeedPolicy, type FeedReader, type PollResult } from './feeds.js';
export { attributeOutcomes, syncOutcomes, type OutcomeTarget, type SyncReport } from './outcomes.js';
export { buildNotices } from './plan.js';
export { resumeAll, sendUnsent, sweep, type ResumeReport, type SweepReport } from './recovery.js';
export { routeCampaign } from './route.js';
export { startNotices } from './start.js';
export { campaignCounts, campaignStats, casesByIndicator, countryOf, countsOf, partyOf, type CampaignCounts, type CampaignStats, type DurationStats, type Progress, type ProgressOverTime, type ProgressRow, type TimeToAction } from './stats.js';
export { campaignStatus, type CampaignStatus } from './status.js';
export { SubmitCampaignInput, submitCampaign } from './submit.js';
export { CaseFilter, SearchQuery, caseMatches, search, type SearchResult } from './search.js';
export { MAX_UPLOAD_BYTES, SubmitUploadInput, UploadCursor, createUpload, readUploadStep, submitUpload, uploadStatus, type UploadRecord } from './upload.js';
