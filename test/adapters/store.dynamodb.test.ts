import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createTable, TABLE_DESIGN } from '../../lib/adapters/dynamodb/store.dynamodb.js';
import { sendingProgress } from '../../lib/core/reports/status.js';
import { Notice, type NoticeState } from '../../lib/core/model.js';
import { storeContract } from '../contract/store.contract.js';
import { useDynalite } from '../support/dynalite.js';

const dynalite = useDynalite();

storeContract('dynamodb (dynalite)', async () => {
  const { store } = await dynalite.freshTable('takedown-contract');
  return { store, close: async () => store.close() };
});

describe('createTable', () => {
  it('builds the table, its keys and every index from TABLE_DESIGN', async () => {
    const client = dynalite.client();
    await createTable(client, 'takedown-design');
    const { Table } = await client.send(new DescribeTableCommand({ TableName: 'takedown-design' }));

    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(Table?.KeySchema).toStrictEqual([
      { AttributeName: TABLE_DESIGN.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: TABLE_DESIGN.sortKey.name, KeyType: 'RANGE' },
    ]);
    const indexes = (Table?.GlobalSecondaryIndexes ?? []).map((index) => ({
      name: index.IndexName,
      keys: index.KeySchema?.map((key) => key.AttributeName),
      projection: index.Projection?.ProjectionType,
      included: index.Projection?.NonKeyAttributes,
    }));
    expect(indexes.sort((a, b) => String(a.name).localeCompare(String(b.name)))).toStrictEqual(
      TABLE_DESIGN.globalSecondaryIndexes.map((index) => ({
        name: index.indexName,
        keys: [index.partitionKey.name, index.sortKey.name],
        // the indexes hold keys, and gsi1 a notice's state key beside them (countNotices)
        projection: index.indexName === 'gsi1' ? 'INCLUDE' : 'KEYS_ONLY',
        included: index.indexName === 'gsi1' ? ['gsi2pk'] : undefined,
      })),
    );
  });
});

describe('countNotices', () => {
  it("counts a campaign's notices by state over every 1 MB page of the query, from their keys alone", async () => {
    const { doc, store } = await dynalite.freshTable('takedown-count');
    const queries: { projection?: string }[] = [];
    doc.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { ProjectionExpression?: string };
        if (context.commandName === 'QueryCommand') queries.push({ projection: input.ProjectionExpression });
        return next(args);
      },
      { step: 'initialize' },
    );
    // gsi1 holds a notice's keys and its state key: ids of 1,000 characters (a sort key's most is 1,024 bytes) make
    // each entry ~2 KB, and 800 of them more than one page of a query
    const states: NoticeState[] = ['planned', 'sent', 'closed', 'sending'];
    const id = (i: number) => `n${String(i).padStart(999, '0')}`;
    const escalatedFrom = Array.from({ length: 20 }, (_, i) => id(i));
    const notices = Array.from({ length: 800 }, (_, i) =>
      Notice.parse({
        id: id(i),
        campaignId: 'cmp_big',
        party: { id: 'hosting:192.0.2.0/24', kind: 'hosting', name: 'Example Hosting', email: 'abuse@hosting.example', contactSource: 'directory' },
        step: 1,
        round: 1,
        state: states[i % states.length],
        tag: `TKD-${i}`,
        tokenHash: 'a'.repeat(64),
        caseCount: 1,
        escalatedFrom,
        answerDeadline: 172_800,
        actionDeadline: 259_200,
        remindersAllowed: 1,
        remindersSent: 0,
        updatedAt: '2026-03-02T08:00:00.000Z',
        version: 1,
      }),
    );
    await store.putNotices(notices);
    await store.putNotices([{ ...notices[0]!, id: 'n_other', campaignId: 'cmp_other' }]);

    queries.length = 0;
    expect(await store.countNotices('cmp_big')).toStrictEqual({ planned: 200, sent: 200, closed: 200, sending: 200 });
    expect(queries.length).toBeGreaterThanOrEqual(2);
    expect(queries.every((q) => q.projection !== undefined)).toBe(true);
    // what the progress says, counted by the store, as the listing of every notice counts it
    expect(await sendingProgress({ store }, 'cmp_big')).toStrictEqual({ out: 400, total: 800 });
    expect(await sendingProgress({ store: Object.assign(Object.create(store) as typeof store, { countNotices: undefined }) }, 'cmp_big')).toStrictEqual({ out: 400, total: 800 });
  }, 30_000);
});
