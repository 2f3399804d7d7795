/**
 * Notices: one message per recipient (rendered from templates, with XARF reports and answer links), sent exactly
 * once; the notice workflow's wait, reminders, escalation to the next party, follow-ups, and what answers do to
 * its clock.
 * This file is the context's public face: other contexts and the hosts import only what it exports.
 */
export { contactUndeliverable, noticeAnswered } from './answered.js';
export { pauseNotice, restartNotice, settleNotice } from './clock.js';
export { escalateCases, finishEscalating, finishEscalations, rerouteToNextContact } from './escalate.js';
export { sendFollowup } from './followup.js';
export { ANSWER_LINK_KIND, LinkValue, type LinkIntent } from './links.js';
export { NoticeGrouper, groupIntoNotices, startNoticeRun } from './planning.js';
export { casesOf, mustGetNotice } from './records.js';
export { humanDuration, renderNotice } from './render/render.js';
export { chooseLanguage, RTL_LANGUAGES } from './render/language.js';
export { finishUnmasked, sendNotice } from './sending/send.js';
export { stepFor } from './step.js';
export { findByTransportId } from './sending/transport-ids.js';
export { awaitAnswer, noticeDeadline } from './wait.js';
export { TemplateError, templateSet, templatesFromFiles, type TemplateSet } from './render/templates.js';
export { holdsNoToken, maskTokens } from './sending/masking.js';
export { DEFAULT_MAX_MESSAGE_BYTES, messageLimit, provenDelivered, resendUnsent, sendOutbound, UNSENT_KIND, type OutboundRequest, type RenderContext } from './sending/outbound.js';
export { SENDING_HALT_KIND, sendingHalt, type SendingHalt } from '../sending-halt.js';
export { reopenCampaign, settleCampaign } from './settle.js';
export { DEFAULT_ESCALATION_WINDOW_SECONDS, type EscalationResult } from './escalate.js';
export { refusalScope } from './sending/refusal-scope.js';
export { holdForRefusal, noticeOutboundId, resendSmaller } from './sending/resend.js';
export { refusalOf } from './sending/halt.js';
export { escalatedCasesOf, lateTakedown } from './late.js';
