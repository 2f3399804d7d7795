import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createTable, TABLE_DESIGN } from '../../lib/adapters/dynamodb/store.dynamodb.js';
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
    }));
    expect(indexes.sort((a, b) => String(a.name).localeCompare(String(b.name)))).toStrictEqual(
      TABLE_DESIGN.globalSecondaryIndexes.map((index) => ({
        name: index.indexName,
        keys: [index.partitionKey.name, index.sortKey.name],
        projection: 'ALL',
      })),
    );
  });
});
