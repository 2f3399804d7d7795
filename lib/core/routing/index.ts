export { DIRECTORY_AUDIT_ID, overrideContact } from './contacts.js';
export { buildLadder, caseIdFor, noticeIdFor, noticeIdFromTag, parseReplyAddress, replyAddress, tagOf } from './ids.js';
export { PlanBuilder, decideRoute, type Plan, type PlanItem } from './plan.js';
export { DEFAULT_ROUTING_POLICY, parseRoutingPolicy, type RoutingPolicy } from './policy.js';
