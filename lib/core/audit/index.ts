/**
 * The audit trail: hash-chained events, their verification, the archive of workflow histories, a case's timeline.
 * This file is the context's public face: other contexts and the hosts import only what it exports.
 */
export { appendEvent, appendEvents, campaignChain, caseChain, chainSlotTaken, type NewAuditEvent } from './events.js';
export { Checkpointer, CheckpointRecord, chainHeadsOf, readCheckpoints, type CheckpointReading, type RecordedHeads } from './checkpoints.js';
export { MAX_HISTORY_EVENTS, archiveExecution } from './history.js';
export { canonicalize } from './jcs.js';
export { sha256Hex } from './sha256.js';
export { caseTimeline, type CaseTimeline, type TimelineEntry } from './timeline.js';
export { chainOrder, verifyCampaign, verifyChains, type AuditReport, type ChainBreak, type ChainHead } from './verifier.js';
export { ANSWER_WORDS, CHANNEL, WORD_VALUES, answerWord, campaignHistory, caseStory, disagreementOf, fillTemplate, namesOf, sentence, storyLine, type CaseStory, type Disagreement, type HistoryLine, type StoryLine, type StoryNames, type StoryTone, type ToldLine } from './story.js';
