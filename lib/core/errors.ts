/**
 * Errors are the contract with the workflows: an error's `name` is what an ASL `ErrorEquals` matches, on AWS
 * and on the embedded engine alike. Messages never carry personal data, secrets or tokens.
 */

/** Base of every error the domain throws on purpose; `code` is stable and shown to API clients. */
export class TakedownError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TakedownError';
    this.code = code;
  }
}

/** One reason an input was refused, with where it was found (a line, a field, an object id). */
export interface InputIssue {
  readonly where: string;
  readonly reason: string;
}

/** The input (a file, a request body, a command argument) is not acceptable; nothing was stored. */
export class InvalidInputError extends TakedownError {
  readonly issues: readonly InputIssue[];
  /** what the caller can do about it, said after the issues (a file's bad items can be skipped) */
  readonly hint?: string;
  constructor(message: string, issues: readonly InputIssue[] = [], options?: { cause?: unknown; hint?: string }) {
    super('INPUT.INVALID', message, options);
    this.name = 'InvalidInputError';
    this.issues = issues;
    if (options?.hint) this.hint = options.hint;
  }
}

/** A record the caller named does not exist. */
export class NotFoundError extends TakedownError {
  constructor(what: string, id: string) {
    super(`${what.toUpperCase()}.NOT_FOUND`, `${what} ${id} not found`);
    this.name = 'NotFoundError';
  }
}

/** A create met a record with the same key: the caller may treat it as "already done". */
export class AlreadyExistsError extends TakedownError {
  constructor(what: string, id: string) {
    super(`${what.toUpperCase()}.ALREADY_EXISTS`, `${what} ${id} already exists`);
    this.name = 'AlreadyExistsError';
  }
}

/** A conditional save lost a race: the record changed since it was read. Re-read and decide again. */
export class StaleWriteError extends TakedownError {
  constructor(what: string, id: string) {
    super('STORE.STALE_WRITE', `${what} ${id} changed since it was read`);
    this.name = 'StaleWriteError';
  }
}

/** A state change the lifecycle does not allow (e.g. a cancelled case acknowledged). */
export class InvalidTransitionError extends TakedownError {
  constructor(what: string, id: string, from: string, to: string) {
    super(`${what.toUpperCase()}.INVALID_TRANSITION`, `${what} ${id} cannot go from ${from} to ${to}`);
    this.name = 'InvalidTransitionError';
  }
}

/** The campaign is not in a state that allows the request (e.g. approving a cancelled campaign). */
export class CampaignStateError extends TakedownError {
  constructor(id: string, state: string, wanted: string) {
    super('CAMPAIGN.WRONG_STATE', `campaign ${id} is ${state}; cannot ${wanted}`);
    this.name = 'CampaignStateError';
  }
}

/**
 * A coordinator's action that the state allows only on purpose: escalating cases a recipient acknowledged, or
 * whose recipient asked a question still unanswered. The message says why; `force` does it anyway.
 */
export class NeedsForceError extends TakedownError {
  constructor(message: string) {
    super('CONTROL.NEEDS_FORCE', message);
    this.name = 'NeedsForceError';
  }
}

/** The transport refused or failed a send in a way that a retry may fix. */
export class MailTransientError extends TakedownError {
  /**
   * true when the failure came after the message was handed over (e.g. the connection dropped while the relay
   * owed its 250): it may have gone out, so a retry must treat the send as uncertain, not as a first send
   */
  readonly maybeDelivered: boolean;
  constructor(message: string, options?: { cause?: unknown; maybeDelivered?: boolean }) {
    super('MAIL.TRANSIENT', message, options);
    this.name = 'MailTransientError';
    this.maybeDelivered = options?.maybeDelivered ?? false;
  }
}

/**
 * Whose fault a refusal is, which decides what follows:
 * - `recipient`: the mailbox is dead (5.1.x unknown user, 5.2.1 disabled): its next mailbox or the next party;
 * - `message`: this message is too big for a server on the way (552, 5.3.4, 5.2.3): the same notice in smaller parts;
 * - `policy`: a server on the way refused our message by policy or authentication (5.7.x): held for a person,
 *   never escalated, since the recipient may be fine;
 * - `sender`: our own account or relay refuses us (SES sandbox, an unverified From, a paused account, relaying
 *   denied, a failed login): every send halts until it is fixed; nobody is escalated or expired for it.
 */
export type RefusalScope = 'recipient' | 'message' | 'policy' | 'sender';

/** What a server said when it refused: the reply code, the enhanced status (RFC 3463) and its text. */
export interface RefusalDetail {
  /** the SMTP reply code (550), or the HTTP status of an API */
  readonly code?: number;
  /** `5.1.1` */
  readonly enhanced?: string;
  /** the server's words, one line, at most 300 characters (it may name the recipient's address, never ours) */
  readonly text?: string;
  /** the protocol step it answered: MAIL, RCPT, DATA, CONN, AUTH, or the API's error name */
  readonly step?: string;
  /** a size limit the server named (bytes), for a `message` refusal */
  readonly limit?: number;
}

/** The transport refused the message for good (e.g. 5xx on RCPT): retrying the same bytes will not help. */
export class MailRejectedError extends TakedownError {
  readonly scope: RefusalScope;
  readonly detail: RefusalDetail;
  constructor(message: string, options?: { cause?: unknown; scope?: RefusalScope; detail?: RefusalDetail }) {
    super('MAIL.REJECTED', message, options);
    this.name = 'MailRejectedError';
    this.scope = options?.scope ?? 'recipient';
    this.detail = options?.detail ?? {};
  }
}

/**
 * Sending is halted: our own account or relay refuses every message (see RefusalScope `sender`). The notice is
 * left as it was, its clock not started; the workflow backs off and tries again, and the next send that passes
 * lifts the halt.
 */
export class SendingHaltedError extends TakedownError {
  readonly detail: RefusalDetail;
  constructor(message: string, options?: { cause?: unknown; detail?: RefusalDetail }) {
    super('MAIL.SENDING_HALTED', message, options);
    this.name = 'SendingHaltedError';
    this.detail = options?.detail ?? {};
  }
}

/** A task token is no longer waited on (the task timed out, or the execution is gone). */
export class TaskTokenExpiredError extends TakedownError {
  constructor(options?: { cause?: unknown }) {
    super('WORKFLOW.TOKEN_EXPIRED', 'the workflow is no longer waiting on this token', options);
    this.name = 'TaskTokenExpiredError';
  }
}

/** A sealed secret cannot be opened (altered, another key, the key service refused); the message holds no secret. */
export class SecretBoxError extends TakedownError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SECRETS.UNAVAILABLE', message, options);
    this.name = 'SecretBoxError';
  }
}

/**
 * A service a task depends on asked it to slow down (DynamoDB, Step Functions throttling): the same step passes
 * later, so the workflow retries it with backoff. Adapters translate their vendor's throttling into this.
 */
export class ThrottledError extends TakedownError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SERVICE.THROTTLED', message, options);
    this.name = 'ThrottledError';
  }
}

/** Every error name a workflow may match in `ErrorEquals`, besides the `States.*` ones. */
export const WORKFLOW_ERROR_NAMES = [
  'InvalidInputError',
  'NotFoundError',
  'StaleWriteError',
  'InvalidTransitionError',
  'CampaignStateError',
  'MailTransientError',
  'MailRejectedError',
  'SendingHaltedError',
  'ThrottledError',
] as const;
