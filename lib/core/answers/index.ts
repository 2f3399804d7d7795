/**
 * Answers: reading inbound mail (bounces, auto-replies, human answers and their intent), signed webhooks, one-click
 * links, the review queue of what no machine may apply, and applying an answer to its notice's cases.
 * This file is the context's public face: other contexts and the hosts import only what it exports.
 */
export { receiveMail, type InboundResult } from './inbound.js';
export { LinkUnusableError, confirmLink, useLink } from './links.js';
export { domainOf, verdictsFromMailauth, verdictsFromSesHeaders, verdictsFromSesReceipt, type MailAuthResolver } from './mail-auth.js';
export { classifyMail, type Classification } from './mail/classify.js';
export { RecipientId, createRecipientSecret, listRecipientSecrets, rotateRecipientSecret, type IssuedSecret, type SecretDeps } from './recipient-secrets.js';
export { AnswerInput, applyAnswer, finishAnswers, recordAnswer, UNAPPLIED_KIND } from './record.js';
export { ReviewResolvedError, applyReview, dismissReview, reviewItem, reviewQueue, type ReviewQueue, type ReviewResolution } from './review-actions.js';
export { listReviews, ReviewReason, type ReviewItem } from './review.js';
export { answerQuestion } from './questions.js';
export { REPLY_TOKEN_GRACE_SECONDS, authenticatedBy, replyTokenExpiresAt } from './proof.js';
export { receiveSesEvent, type SesEventResult } from './ses-events.js';
export { WebhookRefusedError, forgetWebhook, verifyWebhook } from './webhooks.js';
