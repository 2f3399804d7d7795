import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbStore } from '../../lib/adapters/dynamodb/store.dynamodb.js';
import { caseKey, caseMembersOfCampaign, caseMembersOfValue, casesOfCampaign, casesOfNotice, casesWithValue, createTable } from '../../lib/adapters/dynamodb/keys.js';
import { listAll } from '../../lib/core/paging.js';
import { makeCase } from '../contract/store.contract.js';
import { dynaliteClient, useDynalite } from '../support/dynalite.js';
import { lagIndexes } from '../support/gsi-lag.js';

/*
 * DynamoDB's global secondary indexes are eventually consistent: an item just written may be missing from an
 * index query. What a workflow sends is decided from these listings (BuildNotices groups a campaign's cases right
 * after routing wrote them; SendNotice renders a notice's cases right after planning), so they must not read an
 * index. Here the indexes lag for a minute: only a listing that never reads them sees every case.
 */
const dynamo = useDynalite();

async function laggingStore(): Promise<DynamoDbStore> {
  const { tableName } = await dynamo.freshTable('lag');
  const client = dynaliteClient(await endpointOf());
  lagIndexes(client, 60_000);
  return new DynamoDbStore({ tableName, client: DynamoDBDocumentClient.from(client) });
}

/** The endpoint of the file's dynalite, for a client of the test's own. */
async function endpointOf(): Promise<string> {
  const e = await (dynamo.client().config.endpoint as () => Promise<{ hostname: string; port?: number; protocol: string }>)();
  return `${e.protocol}//${e.hostname}:${e.port}`;
}

describe('the DynamoDB store while the indexes lag', () => {
  it('lists every case of a campaign just routed', async () => {
    const store = await laggingStore();
    const cases = Array.from({ length: 7 }, (_, i) => makeCase(`case_0${i}`, { campaignId: 'cmp_lag' }));
    await store.putCases(cases);
    const listed = await listAll((p) => store.listCases({ campaignId: 'cmp_lag' }, { ...p, limit: 3 }));
    expect(listed.map((c) => c.id)).toEqual(cases.map((c) => c.id));
  });

  it('lists every case of a notice just planned, and not a case planned into another notice since', async () => {
    const store = await laggingStore();
    const cases = Array.from({ length: 4 }, (_, i) => makeCase(`case_1${i}`, { campaignId: 'cmp_lag' }));
    await store.putCases(cases);
    const planned = cases.map((c) => ({ ...c, state: 'notified' as const, noticeId: 'ntc_a', version: 2 }));
    expect(await store.saveCases(planned)).toEqual([]);
    const moved = { ...planned[3]!, noticeId: 'ntc_b', version: 3 };
    await store.saveCase(moved);
    const ofA = await listAll((p) => store.listCases({ noticeId: 'ntc_a' }, p));
    expect(ofA.map((c) => c.id)).toEqual(['case_10', 'case_11', 'case_12']);
    expect((await listAll((p) => store.listCases({ noticeId: 'ntc_b' }, p))).map((c) => c.id)).toEqual(['case_13']);
  });
});

describe('the DynamoDB store and its case indexes', () => {
  it('puts a case in no index: its memberships list it, and no save of it writes an index', async () => {
    const { tableName, doc, store } = await dynamo.freshTable('idx');
    const c = makeCase('case_20', { campaignId: 'cmp_idx' });
    await store.putCases([c]);
    await store.saveCase({ ...c, state: 'notified', noticeId: 'ntc_x', version: 2 });
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: caseKey(c.id) }));
    expect(Object.keys(Item!).sort()).toEqual(['data', 'pk', 'sk', 'version']);
    const { Item: member } = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: caseMembersOfValue(c.indicator.value), sk: c.id } }));
    expect(member).toBeDefined();
    // and the store still finds it by campaign, by notice and by value
    expect((await store.listCases({ campaignId: 'cmp_idx' })).items.map((x) => x.id)).toEqual([c.id]);
    expect((await store.listCases({ noticeId: 'ntc_x' })).items.map((x) => x.id)).toEqual([c.id]);
    expect((await store.findCasesByIndicator([c.indicator.value], new Set(['notified']))).map((x) => x.id)).toEqual([c.id]);
    expect(await store.findCasesByIndicator([c.indicator.value], new Set(['open']))).toEqual([]);
  });

  it('finds a case by its value the moment it is stored, while the indexes lag', async () => {
    const store = await laggingStore();
    const c = makeCase('case_21', { campaignId: 'cmp_lag' });
    await store.putCases([c]);
    expect((await store.findCasesByIndicator([c.indicator.value], new Set(['open']))).map((x) => x.id)).toEqual([c.id]);
  });

  it('puts the memberships of many cases in batches, and again what DynamoDB leaves unprocessed', async () => {
    const { tableName, store: fresh } = await dynamo.freshTable('batch');
    const client = dynaliteClient(await endpointOf());
    const batches: number[] = [];
    let held = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if ((context as { commandName?: string }).commandName !== 'BatchWriteItemCommand') return next(args);
        const input = args.input as { RequestItems: Record<string, unknown[]> };
        const requests = input.RequestItems[tableName]!;
        batches.push(requests.length);
        // as a throttled table answers: the last third of every other batch is left unprocessed
        const kept = batches.length % 2 === 1 ? requests.slice(0, Math.ceil((requests.length * 2) / 3)) : requests;
        const left = requests.slice(kept.length);
        held += left.length;
        const out = await next({ ...args, input: { ...input, RequestItems: { [tableName]: kept } } });
        if (left.length) (out.output as { UnprocessedItems?: Record<string, unknown[]> }).UnprocessedItems = { [tableName]: left };
        return out;
      },
      { step: 'initialize', name: 'throttleBatches' },
    );
    const store = new DynamoDbStore({ tableName, client: DynamoDBDocumentClient.from(client) });
    const cases = Array.from({ length: 30 }, (_, i) => ({ ...makeCase(`case_5${String(i).padStart(2, '0')}`, { campaignId: 'cmp_batch' }), noticeId: 'ntc_batch' }));
    // a case named twice is put once
    await store.putCases([cases[0]!, ...cases]);
    // 30 cases, three memberships each: four batches of at most 25, and the unprocessed sent again
    expect(Math.max(...batches)).toBeLessThanOrEqual(25);
    expect(held).toBeGreaterThan(0);
    // read by another store (another container), which knows of no membership
    expect((await listAll((p) => fresh.listCases({ campaignId: 'cmp_batch' }, p))).map((c) => c.id)).toEqual(cases.map((c) => c.id));
    expect((await listAll((p) => fresh.listCases({ noticeId: 'ntc_batch' }, p))).map((c) => c.id)).toEqual(cases.map((c) => c.id));
    expect((await fresh.findCasesByIndicator(cases.map((c) => c.indicator.value), new Set(['open']))).map((c) => c.id)).toEqual(cases.map((c) => c.id));
  });

  it('stores and finds a case whose value is longer than a key may be (a long phishing URL), by its hash', async () => {
    const { store } = await dynamo.freshTable('long');
    const url = (tail: string) => `http://login.bank.example/verify?session=${'a'.repeat(3000)}&u=${tail}`;
    const long = ['case_60', 'case_61'].map((id, i) => {
      const c = makeCase(id, { campaignId: 'cmp_long' });
      return { ...c, indicator: { ...c.indicator, value: url(String(i)), kind: 'url' as const, host: 'login.bank.example', hostKind: 'domain' as const } };
    });
    const short = makeCase('case_62', { campaignId: 'cmp_long' });
    await store.putCases([...long, short]);
    expect(caseMembersOfValue(url('0'))).toMatch(/^VALCASES#sha256#[0-9a-f]{64}$/);
    // each value finds its own case, not the other long one
    expect((await store.findCasesByIndicator([url('0')], new Set(['open']))).map((c) => c.id)).toEqual(['case_60']);
    expect((await store.findCasesByIndicator([url('1'), short.indicator.value], new Set(['open']))).map((c) => c.id)).toEqual(['case_61', 'case_62']);
    await store.saveCase({ ...long[0]!, state: 'notified', noticeId: 'ntc_long', version: 2 });
    expect((await store.findCasesByIndicator([url('0')], new Set(['notified']))).map((c) => c.id)).toEqual(['case_60']);
  });

  it('finds nothing by a value membership whose case was never stored (a crash between the two writes)', async () => {
    const { tableName, doc, store } = await dynamo.freshTable('orphan');
    const c = makeCase('case_22', { campaignId: 'cmp_orphan' });
    await doc.send(new PutCommand({ TableName: tableName, Item: { pk: caseMembersOfValue(c.indicator.value), sk: c.id, data: c.id } }));
    expect(await store.findCasesByIndicator([c.indicator.value], new Set(['open', 'notified']))).toEqual([]);
  });

  it('still finds by value a case stored before value memberships, and keeps it in that index when it saves it', async () => {
    const { tableName, doc, store } = await dynamo.freshTable('oldval');
    const c = makeCase('case_23', { campaignId: 'cmp_oldval' });
    // the items as the store wrote a case after campaign memberships and before value memberships
    await doc.send(new PutCommand({ TableName: tableName, Item: { pk: caseMembersOfCampaign(c.campaignId), sk: c.id, data: c.id } }));
    await doc.send(new PutCommand({ TableName: tableName, Item: { ...caseKey(c.id), gsi3pk: casesWithValue(c.indicator.value), gsi3sk: c.id, data: JSON.stringify(c), version: c.version } }));
    expect((await store.findCasesByIndicator([c.indicator.value], new Set(['open']))).map((x) => x.id)).toEqual([c.id]);
    await store.saveCase({ ...c, state: 'notified', noticeId: 'ntc_oldval', version: c.version + 1 });
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: caseKey(c.id) }));
    expect(Item).toMatchObject({ gsi3pk: casesWithValue(c.indicator.value), gsi3sk: c.id, version: c.version + 1 });
    const found = await store.findCasesByIndicator([c.indicator.value, c.indicator.value], new Set(['notified']));
    expect(found.map((x) => [x.id, x.state])).toEqual([[c.id, 'notified']]);
    // a stale save is refused as before, and changes nothing
    await expect(store.saveCase({ ...c, state: 'actioned', version: c.version + 1 })).rejects.toThrow(/case/);
    expect(await store.saveCases([{ ...c, state: 'actioned', version: c.version + 1 }])).toEqual([c.id]);
    expect((await store.getCase(c.id))?.state).toBe('notified');
  });

  it('does not write the memberships of a case listed through its notice again when it saves it with that notice', async () => {
    const { tableName } = await dynamo.freshTable('mem');
    const seed = new DynamoDbStore({ tableName, client: DynamoDBDocumentClient.from(dynamo.client()) });
    const cases = ['case_40', 'case_41'].map((id) => ({ ...makeCase(id, { campaignId: 'cmp_mem' }), noticeId: 'ntc_m' }));
    await seed.putCases(cases);
    // another container (the notice's workflow): lists the notice's cases, then saves each as notified
    const client = dynaliteClient(await endpointOf());
    const puts: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        // the document client's input, marshalled or not yet: a put names its item, an update its key
        const input = args.input as { Item?: { pk?: string | { S?: string } }; Key?: { pk?: string | { S?: string } } };
        const command = (context as { commandName?: string }).commandName;
        const pk = command === 'PutItemCommand' ? input.Item?.pk : command === 'UpdateItemCommand' ? input.Key?.pk : undefined;
        if (pk !== undefined) puts.push(typeof pk === 'string' ? pk : String(pk.S));
        return next(args);
      },
      { step: 'initialize', name: 'countWrites' },
    );
    const store = new DynamoDbStore({ tableName, client: DynamoDBDocumentClient.from(client) });
    const listed = await listAll((p) => store.listCases({ noticeId: 'ntc_m' }, p));
    expect(await store.saveCases(listed.map((c) => ({ ...c, state: 'notified' as const, version: c.version + 1 })))).toEqual([]);
    expect(puts.sort()).toEqual(['CASE#case_40', 'CASE#case_41']);
    // a case moved to another notice gets that notice's membership first, and stays listed by both stores
    await store.saveCase({ ...listed[0]!, state: 'open', noticeId: 'ntc_n', version: listed[0]!.version + 2 });
    expect(puts.filter((pk) => pk.startsWith('NTCCASES#'))).toEqual(['NTCCASES#ntc_n']);
    expect((await listAll((p) => seed.listCases({ noticeId: 'ntc_n' }, p))).map((c) => c.id)).toEqual(['case_40']);
    expect((await listAll((p) => seed.listCases({ campaignId: 'cmp_mem' }, p))).map((c) => c.id)).toEqual(['case_40', 'case_41']);
  });

  it('still lists the cases stored before memberships, which only the campaign and notice indexes hold', async () => {
    const { tableName, doc, store } = await dynamo.freshTable('old');
    const old = [makeCase('case_31', { campaignId: 'cmp_old' }), makeCase('case_30', { campaignId: 'cmp_old' })].map((c) => ({ ...c, noticeId: 'ntc_old' }));
    for (const c of old) {
      // the item as the store wrote a case before memberships existed
      const item = { ...caseKey(c.id), gsi1pk: casesOfCampaign(c.campaignId), gsi1sk: c.id, gsi2pk: casesOfNotice(c.noticeId), gsi2sk: c.id, gsi3pk: casesWithValue(c.indicator.value), gsi3sk: c.id, data: JSON.stringify(c), version: c.version };
      await doc.send(new PutCommand({ TableName: tableName, Item: item }));
    }
    expect((await listAll((p) => store.listCases({ campaignId: 'cmp_old' }, p))).map((c) => c.id)).toEqual(['case_30', 'case_31']);
    expect((await listAll((p) => store.listCases({ noticeId: 'ntc_old' }, p))).map((c) => c.id)).toEqual(['case_30', 'case_31']);
  });
});
