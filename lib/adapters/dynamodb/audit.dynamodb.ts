import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { chainSlotTaken } from '../../core/audit/index.js';
import type { AuditEvent } from '../../core/model.js';
import type { Store } from '../../core/ports.js';
import { compareText, createItem, parseAll, queryAll, queryAttribute, type Table } from './access.js';
import {
  CHAIN_PREFIX,
  chainPk,
  eventKeys,
  eventsOfCampaign,
  eventsOfCase,
  eventsOfNotice,
  keyNames,
  type Item,
} from './keys.js';

/** The Store methods for the audit trail: its events and their hash chains. */
export type AuditMethods = Pick<Store, 'appendEvent' | 'chainHead' | 'listChain' | 'listChains' | 'listEvents'>;

/** The audit trail on the single table: one partition key per chain, listed per campaign, case and notice. */
export function dynamoAudit(table: Table): AuditMethods {
  return {
    async appendEvent(event) {
      const item: Item = { ...eventKeys(event, `${appendKey()}#${event.id}`), data: JSON.stringify(event) };
      // the audit trail is append-only: a taken slot is never overwritten
      if (!(await createItem(table, item))) throw chainSlotTaken(event.chain, event.seq);
    },

    async chainHead(chain) {
      const [head] = await queryChain(table, chain, 1, false);
      return head;
    },

    async listChain(chain, options) {
      return queryChain(table, chain, options?.limit, true);
    },

    async listChains(campaignId) {
      // from the events themselves, not from a marker a deletion could take away with the chain it names
      const chains = new Set<string>();
      for (const pk of await queryAttribute(table, 'gsi1', eventsOfCampaign(campaignId), keyNames(undefined).pk)) {
        if (pk.startsWith(CHAIN_PREFIX)) chains.add(pk.slice(CHAIN_PREFIX.length));
      }
      return [...chains].sort(compareText);
    },

    async listEvents(by) {
      const found =
        'campaignId' in by
          ? await queryAll(table, 'gsi1', eventsOfCampaign(by.campaignId))
          : 'caseId' in by
            ? await queryAll(table, 'gsi2', eventsOfCase(by.caseId))
            : await queryAll(table, 'gsi3', eventsOfNotice(by.noticeId));
      return parseAll<AuditEvent>(found);
    },
  };
}

/** The events of one chain in slot order (or the reverse), read consistently: an append links to what this returns. */
async function queryChain(
  table: Table,
  chain: string,
  limit: number | undefined,
  ascending: boolean,
): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const result = await table.doc.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': 'pk' },
        ExpressionAttributeValues: { ':pk': chainPk(chain) },
        ScanIndexForward: ascending,
        ConsistentRead: true,
        ...(limit === undefined ? {} : { Limit: limit - events.length }),
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    for (const item of result.Items ?? []) events.push(JSON.parse(String(item['data'])) as AuditEvent);
    start = result.LastEvaluatedKey;
  } while (start !== undefined && (limit === undefined || events.length < limit));
  return events;
}

let lastAppendMs = 0;
let appendCounter = 0;

/**
 * A key that grows with every append in this process, ties across processes broken by the event id.
 * Not the event's `at`: that is domain time (which the embedded host runs fast) and says nothing of the order
 * the events reached the store in.
 */
function appendKey(): string {
  const now = Date.now();
  if (now > lastAppendMs) {
    lastAppendMs = now;
    appendCounter = 0;
  } else {
    appendCounter += 1;
  }
  return `${String(lastAppendMs).padStart(15, '0')}.${String(appendCounter).padStart(6, '0')}`;
}
