import { AlreadyExistsError, type MailRejectedError } from '../../errors.js';
import type { Notice, Refusal } from '../../model.js';
import type { Deps } from '../../ports.js';
import { SENDING_HALT_KEY, SENDING_HALT_KIND, sendingHalt, type SendingHalt } from '../../sending-halt.js';
import { appendEvent } from '../../audit/index.js';

/**
 * Sending halted: our own account or relay refuses every message (the SES sandbox, an unverified From, a paused
 * account, a relay that denies us). That is nobody's failure to answer, so no notice escalates or expires for it:
 * one record says sending is halted and why (status and the dashboard show it, the log line pages the operator),
 * the workflows back off and try again, and the first message that goes through lifts the halt.
 */

/** The refusal as recorded: the server's words on one line, never longer than the record allows. */
export function refusalOf(deps: Pick<Deps, 'clock'>, error: MailRejectedError, outbound?: string): Refusal {
  const d = error.detail;
  return {
    at: deps.clock.now().toISOString(),
    scope: error.scope,
    ...(d.code !== undefined ? { code: d.code } : {}),
    ...(d.enhanced ? { enhanced: d.enhanced.slice(0, 20) } : {}),
    ...(d.text ? { text: d.text.replace(/\s+/g, ' ').trim().slice(0, 300) } : {}),
    ...(d.step ? { step: d.step.slice(0, 60) } : {}),
    ...(outbound ? { outbound } : {}),
  };
}

/** Record that sending is halted (once: the first notice that meets the refusal writes the record and the event). */
export async function haltSending(deps: Pick<Deps, 'store' | 'ids' | 'clock' | 'log'>, notice: Notice, refusal: Refusal): Promise<void> {
  const halt: SendingHalt = { since: refusal.at, refusal, noticeId: notice.id, campaignId: notice.campaignId };
  try {
    await deps.store.putRecord({ kind: SENDING_HALT_KIND, key: SENDING_HALT_KEY, value: JSON.stringify(halt), version: 1 }, 'absent');
  } catch (e) {
    if (e instanceof AlreadyExistsError) return;
    throw e;
  }
  // an error line: the operator's alarm keys on it (a metric filter on AWS); the server's words may name an address
  deps.log.error('sending halted: our account or relay refuses every message', { notice: notice.id, scope: refusal.scope, code: refusal.code, enhanced: refusal.enhanced, step: refusal.step });
  await appendEvent(deps, { campaignId: notice.campaignId, noticeId: notice.id, type: 'sending.halted', actor: 'system', data: { refusal } });
}

/** A message went through: lift a halt if there is one. */
export async function liftHalt(deps: Pick<Deps, 'store' | 'ids' | 'clock' | 'log'>, notice: Notice): Promise<void> {
  const halt = await sendingHalt(deps);
  if (!halt) return;
  await deps.store.deleteRecord(SENDING_HALT_KIND, SENDING_HALT_KEY);
  deps.log.info('sending resumed', { notice: notice.id, haltedSince: halt.since });
  await appendEvent(deps, { campaignId: notice.campaignId, noticeId: notice.id, type: 'sending.resumed', actor: 'system', data: { haltedSince: halt.since, refusal: halt.refusal } });
}
