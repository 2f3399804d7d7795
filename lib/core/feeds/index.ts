/**
 * The tools an operation already runs: feeds watched for new indicators (a MISP search, a TAXII collection), each
 * making a campaign of what is new, and a campaign's outcome written back to where its indicators came from.
 * This file is the context's public face: other contexts and the hosts import only what it exports.
 */
export { FeedOrigin, campaignOrigin, pollFeed, recordCampaignOrigin, type FeedBatch, type FeedPolicy, type FeedReader, type PollResult } from './feeds.js';
export { attributeOutcomes, syncOutcomes, type OutcomeTarget, type SyncReport } from './outcomes.js';
