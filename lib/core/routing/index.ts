/**
 * Routing: who can act on each indicator (the routing policy's ladder of parties), derived ids and reply addresses,
 * the routing plan, and coordinators' contact overrides.
 * This file is the context's public face: other contexts and the hosts import only what it exports.
 */
export { DIRECTORY_AUDIT_ID, overrideContact } from './contacts.js';
export { MAX_REPLY_LOCAL_PART, REPLY_TOKEN_LENGTH, buildLadder, caseIdFor, noticeIdFor, noticeIdFromTag, parseReplyAddress, parseVerpAddress, replyAddress, tagOf, verpAddress } from './ids.js';
export { PlanBuilder, decideRoute, type Plan, type PlanItem } from './plan.js';
export { DEFAULT_ROUTING_POLICY, parseRoutingPolicy, type RoutingPolicy } from './policy.js';
