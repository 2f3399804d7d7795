import type { Case } from '../../core/model.js';
import type { Store } from '../../core/ports.js';
import {
  CONCURRENCY,
  compareText,
  createItem,
  eachLimit,
  getData,
  parseAll,
  queryAll,
  queryPage,
  saveItem,
  saveOrThrow,
  type Table,
} from './access.js';
import { caseKey, caseKeys, casesOfCampaign, casesOfNotice, casesWithValue, type Item } from './keys.js';

/** The Store methods for cases. */
export type CaseMethods = Pick<
  Store,
  'putCases' | 'getCase' | 'saveCase' | 'saveCases' | 'listCases' | 'findCasesByIndicator'
>;

/** Cases on the single table: one partition key each, listed per campaign, per notice and per indicator value. */
export function dynamoCases(table: Table): CaseMethods {
  return {
    async putCases(cases) {
      await eachLimit(cases, CONCURRENCY, async (c) => {
        await createItem(table, caseItem(c));
      });
    },

    async getCase(id) {
      return getData<Case>(table, caseKey(id));
    },

    async saveCase(c) {
      await saveOrThrow(table, caseItem(c), 'case', c.id);
    },

    async saveCases(cases) {
      const stale: string[] = [];
      await eachLimit(cases, 16, async (c) => {
        if (!(await saveItem(table, caseItem(c)))) stale.push(c.id);
      });
      return stale;
    },

    async listCases(by, page) {
      return 'campaignId' in by
        ? queryPage<Case>(table, 'gsi1', casesOfCampaign(by.campaignId), page)
        : queryPage<Case>(table, 'gsi2', casesOfNotice(by.noticeId), page);
    },

    async findCasesByIndicator(values, states) {
      const cases: Case[] = [];
      await eachLimit([...new Set(values)], CONCURRENCY, async (value) => {
        for (const c of parseAll<Case>(await queryAll(table, 'gsi3', casesWithValue(value)))) {
          if (states.has(c.state)) cases.push(c);
        }
      });
      return cases.sort((a, b) => compareText(a.id, b.id));
    },
  };
}

function caseItem(c: Case): Item {
  return { ...caseKeys(c), data: JSON.stringify(c), version: c.version };
}
