import { z } from 'zod';
import type { Deps } from '../../core/ports.js';
import { receiveSesEvent, type SesEventResult } from '../../core/answers/index.js';

// SNS delivers the SES event as text in Message; EventBridge (the other destination SES offers) as `detail`
const SnsEvent = z.object({
  Records: z.array(z.object({ Sns: z.object({ Message: z.string(), MessageId: z.string().optional() }) })).min(1),
});
const EventBridgeEvent = z.object({ 'detail-type': z.string(), id: z.string().optional(), detail: z.record(z.string(), z.unknown()) });

/** The SES events function: each bounce or complaint SES published through its configuration set, applied once. */
export async function handleSesEvents(deps: Deps, event: unknown): Promise<SesEventResult[]> {
  const sns = SnsEvent.safeParse(event);
  if (sns.success) {
    const results: SesEventResult[] = [];
    for (const r of sns.data.Records) results.push(await receiveSesEvent(deps, r.Sns.Message, { ref: r.Sns.MessageId ? `sns:${r.Sns.MessageId}` : undefined }));
    return results;
  }
  const bridge = EventBridgeEvent.safeParse(event);
  if (bridge.success) return [await receiveSesEvent(deps, bridge.data.detail, { ref: bridge.data.id ? `eventbridge:${bridge.data.id}` : undefined })];
  deps.log.error('SES events: not an SNS or EventBridge event', {});
  return [];
}
