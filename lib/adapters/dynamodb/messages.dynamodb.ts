import type { Answer, Outbound } from '../../core/model.js';
import type { Store } from '../../core/ports.js';
import { createItem, createOrThrow, getData, parseAll, queryAll, saveOrThrow, type Table } from './access.js';
import { answerKeys, answersOfNotice, outboundKey, outboundKeys, outboundOfNotice, type Item } from './keys.js';

/** The Store methods for a notice's mail: what went out and the answers that came back. */
export type MessageMethods = Pick<
  Store,
  'createOutbound' | 'getOutbound' | 'saveOutbound' | 'listOutbound' | 'putAnswer' | 'listAnswers'
>;

/** Outbound messages and answers on the single table, each listed per notice in time order. */
export function dynamoMessages(table: Table): MessageMethods {
  return {
    async createOutbound(message) {
      await createOrThrow(table, outboundItem(message), 'outbound', message.id);
    },

    async getOutbound(id) {
      return getData<Outbound>(table, outboundKey(id));
    },

    async saveOutbound(message) {
      await saveOrThrow(table, outboundItem(message), 'outbound', message.id);
    },

    async listOutbound(noticeId) {
      return parseAll<Outbound>(await queryAll(table, 'gsi1', outboundOfNotice(noticeId)));
    },

    async putAnswer(answer) {
      return createItem(table, { ...answerKeys(answer), data: JSON.stringify(answer) });
    },

    async listAnswers(noticeId) {
      return parseAll<Answer>(await queryAll(table, 'gsi1', answersOfNotice(noticeId)));
    },
  };
}

function outboundItem(message: Outbound): Item {
  return { ...outboundKeys(message), data: JSON.stringify(message), version: message.version };
}
