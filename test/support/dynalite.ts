import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { createTable, DynamoDbStore } from '../../lib/adapters/dynamodb/store.dynamodb.js';
// @ts-expect-error dynalite ships no type declarations
import dynalite from 'dynalite';

/** What a client pointed at dynalite needs: any region, and credentials that are never checked. */
export const DYNALITE_CLIENT_CONFIG = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
} as const;

/** Starts an in-memory dynalite on a free loopback port. */
export async function startDynalite(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = (dynalite as (options: Record<string, unknown>) => Server)({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error?: Error) => (error ? reject(error) : resolve()));
        // SDK clients keep connections alive; without this the close waits for them to time out
        server.closeAllConnections();
      }),
  };
}

/** A DynamoDB client for a dynalite endpoint. */
export function dynaliteClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ ...DYNALITE_CLIENT_CONFIG, endpoint });
}

/**
 * Dynalite for the tests of the file (or describe block) that calls it: started before them, stopped after.
 * `freshTable` makes a table from TABLE_DESIGN under a name of its own and returns a document client and a store
 * on it, so each test starts from an empty table.
 */
export function useDynalite(): {
  client(): DynamoDBClient;
  freshTable(prefix: string): Promise<{ tableName: string; doc: DynamoDBDocumentClient; store: DynamoDbStore }>;
} {
  let dynamo: { endpoint: string; close(): Promise<void> } | undefined;
  let client: DynamoDBClient | undefined;
  let tables = 0;
  beforeAll(async () => {
    dynamo = await startDynalite();
    client = dynaliteClient(dynamo.endpoint);
  });
  afterAll(async () => {
    client?.destroy();
    await dynamo?.close();
  });
  return {
    client: () => client!,
    async freshTable(prefix) {
      const tableName = `${prefix}-${++tables}`;
      await createTable(client!, tableName);
      const doc = DynamoDBDocumentClient.from(client!);
      return { tableName, doc, store: new DynamoDbStore({ tableName, client: doc }) };
    },
  };
}
