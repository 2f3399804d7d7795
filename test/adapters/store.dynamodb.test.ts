import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTable, DynamoDbStore, TABLE_DESIGN } from '../../lib/adapters/dynamodb/store.dynamodb.js';
import { storeContract } from '../contract/store.contract.js';
import { dynaliteClient, startDynalite } from '../support/dynalite.js';

let dynamo: { endpoint: string; close(): Promise<void> };
let client: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  dynamo = await startDynalite();
  client = dynaliteClient(dynamo.endpoint);
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
});

storeContract('dynamodb (dynalite)', async () => {
  tables += 1;
  const tableName = `takedown-contract-${tables}`;
  await createTable(client, tableName);
  const store = new DynamoDbStore({ tableName, client: DynamoDBDocumentClient.from(client) });
  return { store, close: async () => store.close() };
});

describe('createTable', () => {
  it('builds the table, its keys and every index from TABLE_DESIGN', async () => {
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
