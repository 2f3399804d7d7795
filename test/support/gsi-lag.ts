import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

type Marshalled = Record<string, { S?: string }>;

/**
 * Makes a DynamoDB client see its table's global secondary indexes late, as DynamoDB may: an item written (put
 * or updated) less than `lagMs` ago is left out of every answer to a Query on an index. The base table and
 * consistent reads are unaffected. dynalite updates its indexes at once; this brings back what it hides.
 */
export function lagIndexes(client: DynamoDBClient, lagMs: number): void {
  const writtenAt = new Map<string, number>();
  const keyOf = (item: Marshalled | undefined) => `${item?.pk?.S ?? ''}|${item?.sk?.S ?? ''}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = (context as { commandName?: string }).commandName ?? '';
      const input = args.input as { Item?: Marshalled; Key?: Marshalled; IndexName?: string; RequestItems?: Record<string, { PutRequest?: { Item: Marshalled } }[]> };
      const result = await next(args);
      if (command === 'PutItemCommand') writtenAt.set(keyOf(input.Item), Date.now());
      if (command === 'UpdateItemCommand') writtenAt.set(keyOf(input.Key), Date.now());
      if (command === 'BatchWriteItemCommand') {
        for (const writes of Object.values(input.RequestItems ?? {})) for (const w of writes) if (w.PutRequest) writtenAt.set(keyOf(w.PutRequest.Item), Date.now());
      }
      if (command === 'QueryCommand' && input.IndexName) {
        const output = result.output as { Items?: Marshalled[]; Count?: number };
        const now = Date.now();
        output.Items = (output.Items ?? []).filter((item) => now - (writtenAt.get(keyOf(item)) ?? 0) >= lagMs);
        output.Count = output.Items.length;
      }
      return result;
    },
    { step: 'initialize', name: 'lagIndexes' },
  );
}
