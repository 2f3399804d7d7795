/**
 * A campaign's lifecycle: submission, routing, the plan and its approval, the start of its notices, a
 * coordinator's hand on the clock, status, statistics, and resuming everything after a restart.
 * This file is the context's public face: other contexts and the hosts import only what it exports.
 */
export { approveCampaign, awaitApproval, cancelCampaign } from './approval.js';
export { ControlAction, control, expiredCases, targetOf } from './control.js';
export { planSubmission } from './dry-run.js';
export { buildNotices } from './plan.js';
export { resumeAll, sweep, type ResumeReport, type SweepReport } from './recovery.js';
export { routeCampaign } from './route.js';
export { startNotices } from './start.js';
export { campaignStats, countryOf, partyOf, type CampaignStats, type DurationStats, type Progress, type ProgressRow } from './stats.js';
export { campaignStatus, type CampaignStatus } from './status.js';
export { SubmitCampaignInput, submitCampaign } from './submit.js';
