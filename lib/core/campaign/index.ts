/**
 * A campaign's lifecycle: submission (a file, or one uploaded before), routing, the plan and its approval, the
 * start of its notices, a coordinator's hand on the clock, and resuming everything after a restart. What is read
 * of a campaign (status, statistics, search, exports) is reports/; feeds that make campaigns are feeds/.
 * This file is the context's public face: other contexts and the hosts import only what it exports.
 */
export { approveCampaign, awaitApproval, cancelCampaign } from './approval.js';
export { ControlAction, control, controlPreview, expiredCases, targetOf, type ControlOptions, type ControlPreview, type ControlResult } from './control.js';
export { planSubmission } from './dry-run.js';
export { buildNotices } from './plan.js';
export { campaignWorkflow, resumeAll, sendUnsent, sweep, type ResumeReport, type SweepReport } from './recovery.js';
export { routeCampaign } from './route.js';
export { startNotices } from './start.js';
export { SubmitCampaignInput, submitCampaign } from './submit.js';
export { MAX_UPLOAD_BYTES, SubmitUploadInput, UploadCursor, createUpload, readUploadStep, submitUpload, uploadStatus, type UploadRecord } from './upload.js';
