import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
