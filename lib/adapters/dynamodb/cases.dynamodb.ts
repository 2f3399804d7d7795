import type { Case } from '../../core/model.js';
import type { Store } from '../../core/ports.js';
import {
  CONCURRENCY,
  compareText,
  createItem,
  decodeCursor,
  eachLimit,
  encodeCursor,
  getData,
  getMany,
  pageLimit,
  parseAll,
  putMarker,
  putMarkers,
  queryAll,
  queryPage,
  queryRange,
  saveData,
  type Table,
} from './access.js';
import { StaleWriteError } from '../../core/errors.js';
import { caseKey, caseKeys, caseMembersOfCampaign, caseMembersOfNotice, caseMembersOfValue, casesOfCampaign, casesOfNotice, casesWithValue, type Item } from './keys.js';

// memberships this container wrote or read already: a case saved again with the same notice needs no second write
const MAX_REMEMBERED = 50_000;

/** The Store methods for cases. */
export type CaseMethods = Pick<
  Store,
  'putCases' | 'getCase' | 'saveCase' | 'saveCases' | 'listCases' | 'findCasesByIndicator'
>;

/** Cases on the single table: one partition key each, listed per campaign, per notice and per indicator value. */
export function dynamoCases(table: Table): CaseMethods {
  // memberships known to be in the table (none is ever deleted)
  const known = new Set<string>();
  const remember = (pk: string, caseId: string) => {
    if (known.size >= MAX_REMEMBERED) known.clear();
    known.add(`${pk}|${caseId}`);
  };
  // the membership goes first: a case stored without it would be missing from every listing for good
  const member = async (pk: string, caseId: string) => {
    if (known.has(`${pk}|${caseId}`)) return;
    await putMarker(table, pk, caseId);
    remember(pk, caseId);
  };
  const members = async (c: Case) => {
    await member(caseMembersOfCampaign(c.campaignId), c.id);
    if (c.noticeId !== undefined) await member(caseMembersOfNotice(c.noticeId), c.id);
  };
  return {
    async putCases(cases) {
      // every membership first (in batches: a membership is put without condition), then the cases; a case's value
      // never changes, so its value membership is written once, here
      const ofValue = cases.map((c) => ({ pk: caseMembersOfValue(c.indicator.value), sk: c.id }));
      const listed = cases.flatMap((c) => [
        { pk: caseMembersOfCampaign(c.campaignId), sk: c.id },
        ...(c.noticeId === undefined ? [] : [{ pk: caseMembersOfNotice(c.noticeId), sk: c.id }]),
      ]);
      await putMarkers(table, [...ofValue, ...listed.filter((m) => !known.has(`${m.pk}|${m.sk}`))]);
      for (const m of listed) remember(m.pk, m.sk);
      await eachLimit(cases, CONCURRENCY, async (c) => {
        await createItem(table, caseItem(c));
      });
    },

    async getCase(id) {
      return getData<Case>(table, caseKey(id));
    },

    async saveCase(c) {
      await members(c);
      if (!(await saveData(table, caseItem(c)))) throw new StaleWriteError('case', c.id);
    },

    async saveCases(cases) {
      const stale: string[] = [];
      await eachLimit(cases, 16, async (c) => {
        await members(c);
        if (!(await saveData(table, caseItem(c)))) stale.push(c.id);
      });
      return stale;
    },

    async listCases(by, page) {
      const ofCampaign = 'campaignId' in by;
      const limit = pageLimit(page);
      const after = page?.after === undefined ? undefined : decodeCursor(page.after);
      const found = await queryRange(table, undefined, ofCampaign ? caseMembersOfCampaign(by.campaignId) : caseMembersOfNotice(by.noticeId), after, limit + 1);
      // cases stored before memberships existed are found through the index, as they always were; a save keeps
      // their index keys (saveData), so one moved to another notice since is still under the first: its record decides
      if (found.length === 0 && after === undefined) {
        if (ofCampaign) return queryPage<Case>(table, 'gsi1', casesOfCampaign(by.campaignId), page);
        const earlier = await queryPage<Case>(table, 'gsi2', casesOfNotice(by.noticeId), page);
        return { ...earlier, items: earlier.items.filter((c) => c.noticeId === by.noticeId) };
      }
      const ids = found.slice(0, limit).map((row) => row.key);
      const cases = await getMany<Case>(table, ids.map(caseKey));
      // a membership whose case was never stored (a crash between the two writes), or a case moved to another
      // notice since, is not listed
      const items = cases.filter((c): c is Case => c !== undefined && (ofCampaign || c.noticeId === by.noticeId));
      // a case listed through a membership has it; one listed through its notice's has its campaign's too, which
      // is always written before any notice's (members): saving it with that notice writes neither again (the
      // notice's workflow lists its cases, then saves each: two writes a case fewer)
      for (const c of items) {
        remember(caseMembersOfCampaign(c.campaignId), c.id);
        if (!ofCampaign) remember(caseMembersOfNotice(by.noticeId), c.id);
      }
      const last = found[limit - 1];
      return found.length > limit && last !== undefined ? { items, next: encodeCursor(last.key) } : { items };
    },

    async findCasesByIndicator(values, states) {
      const found = new Map<string, Case>();
      const listed = new Set<string>();
      const wanted = new Set(values);
      await eachLimit([...wanted], CONCURRENCY, async (value) => {
        const earlierPk = casesWithValue(value);
        const [memberships, earlier] = await Promise.all([
          queryAll(table, undefined, caseMembersOfValue(value)),
          // cases stored before value memberships are in the value's index partition, with their records
          earlierPk === undefined ? [] : queryAll(table, 'gsi3', earlierPk),
        ]);
        for (const c of parseAll<Case>(earlier)) found.set(c.id, c);
        for (const row of memberships) listed.add(row.key);
      });
      const ids = [...listed].filter((id) => !found.has(id));
      // a membership whose case was never stored (a crash between the two writes) finds nothing
      for (const c of await getMany<Case>(table, ids.map(caseKey))) if (c) found.set(c.id, c);
      // a long value's memberships are found by its hash: each case found says its own value
      return [...found.values()].filter((c) => states.has(c.state) && wanted.has(c.indicator.value)).sort((a, b) => compareText(a.id, b.id));
    },
  };
}

function caseItem(c: Case): Item {
  return { ...caseKeys(c), data: JSON.stringify(c), version: c.version };
}
