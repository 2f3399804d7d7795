import { z } from 'zod';
import { Refusal } from './messages.js';
import type { Store } from './store.js';

/**
 * The record that says sending is halted, and why: our own account or relay refuses every message. The notices
 * context writes and lifts it (notices/sending/halt.ts); status and the dashboard read it, so the reading lives
 * here, in the kernel, and a status does not load the sending code to show it.
 */

export const SENDING_HALT_KIND = 'sending-halt';
/** the one record of its kind: sending is halted for the whole host */
export const SENDING_HALT_KEY = 'all';

export const SendingHalt = z.object({
  since: z.string(),
  refusal: Refusal,
  /** the notice whose send found it */
  noticeId: z.string(),
  campaignId: z.string(),
});
export type SendingHalt = z.infer<typeof SendingHalt>;

/** Whether sending is halted, and why. */
export async function sendingHalt(deps: { readonly store: Pick<Store, 'getRecord'> }): Promise<SendingHalt | undefined> {
  const record = await deps.store.getRecord(SENDING_HALT_KIND, SENDING_HALT_KEY);
  return record ? SendingHalt.parse(JSON.parse(record.value)) : undefined;
}
