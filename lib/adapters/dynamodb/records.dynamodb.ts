import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { AlreadyExistsError, StaleWriteError } from '../../core/errors.js';
import type { Store, StoredRecord } from '../../core/ports.js';
import { getData, isConditionFailure, queryPage, type Table } from './access.js';
import { recordKey, recordKeys, recordsOf, ttlOf, type Item } from './keys.js';

/** The Store methods for the generic records of other modules (API keys, secrets, link tokens ...). */
export type RecordMethods = Pick<Store, 'putRecord' | 'getRecord' | 'listRecords' | 'deleteRecord'>;

/** Generic records on the single table, listed per kind. */
export function dynamoRecords(table: Table): RecordMethods {
  return {
    async putRecord(record, expect) {
      const item: Item = {
        ...recordKeys(record),
        data: JSON.stringify(record),
        version: record.version,
        ...(record.expiresAt ? { ttl: ttlOf(record.expiresAt) } : {}),
      };
      const condition =
        expect === undefined
          ? {}
          : expect === 'absent'
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#version = :expected',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':expected': expect },
              };
      try {
        await table.doc.send(new PutCommand({ TableName: table.tableName, Item: item, ...condition }));
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const where = `${record.kind}/${record.key}`;
        throw expect === 'absent' ? new AlreadyExistsError('record', where) : new StaleWriteError('record', where);
      }
    },

    async getRecord(kind, key) {
      return getData<StoredRecord>(table, recordKey(kind, key));
    },

    async listRecords(kind, page) {
      return queryPage<StoredRecord>(table, 'gsi1', recordsOf(kind), page);
    },

    async deleteRecord(kind, key) {
      await table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: recordKey(kind, key) }));
    },
  };
}
