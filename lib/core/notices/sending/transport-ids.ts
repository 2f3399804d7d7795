import { z } from 'zod';
import { AlreadyExistsError } from '../../errors.js';
import type { Deps } from '../../ports.js';

/**
 * What the transport called each message we sent, kept so an event that names only that id (an SES bounce or
 * complaint: SES replaces our Message-ID) finds its notice. One small record per message sent.
 */

/** The record kind of these entries. */
export const TRANSPORT_ID_KIND = 'transport-id';

// complaints can come weeks after the send (a mailbox provider's feedback loop); a year covers every notice's life
const KEEP_DAYS = 400;

const Entry = z.object({ noticeId: z.string().min(1), outboundId: z.string().min(1) });
export type TransportIdEntry = z.infer<typeof Entry>;

function keyOf(transportId: string): string {
  return transportId.trim().replace(/^<|>$/g, '');
}

/**
 * Remember which notice and outbound message a transport id belongs to; call it once the transport accepted the
 * message. Idempotent: a retried send records the same entry again without error.
 */
export async function rememberTransportId(
  deps: Pick<Deps, 'store' | 'clock'>,
  transportId: string,
  noticeId: string,
  outboundId: string,
): Promise<void> {
  const key = keyOf(transportId);
  if (!key) return;
  const expiresAt = new Date(deps.clock.now().getTime() + KEEP_DAYS * 86_400_000).toISOString();
  try {
    await deps.store.putRecord({ kind: TRANSPORT_ID_KIND, key, value: JSON.stringify({ noticeId, outboundId }), version: 1, expiresAt }, 'absent');
  } catch (e) {
    if (!(e instanceof AlreadyExistsError)) throw e;
  }
}

/** The notice and outbound message a transport id was recorded for, if it was. */
export async function findByTransportId(deps: Pick<Deps, 'store'>, transportId: string): Promise<TransportIdEntry | undefined> {
  const key = keyOf(transportId);
  if (!key) return undefined;
  const record = await deps.store.getRecord(TRANSPORT_ID_KIND, key);
  if (!record) return undefined;
  const parsed = Entry.safeParse(JSON.parse(record.value));
  return parsed.success ? parsed.data : undefined;
}
