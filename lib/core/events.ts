import type { AuditEvent } from './model.js';
import type { Deps } from './ports.js';

/** Append one audit event, stamped with an id and the domain time. Never put a secret or a body in `data`. */
export async function appendEvent(
  deps: Pick<Deps, 'store' | 'ids' | 'clock'>,
  event: Omit<AuditEvent, 'id' | 'at'>,
): Promise<AuditEvent> {
  const full: AuditEvent = { id: deps.ids.newId('e'), at: deps.clock.now().toISOString(), ...event };
  await deps.store.appendEvent(full);
  return full;
}
