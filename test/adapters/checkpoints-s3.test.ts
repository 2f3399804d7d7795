import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3CheckpointLog } from '../../lib/adapters/checkpoints/checkpoints.s3.js';
import { auditKeyFromBytes } from '../../lib/adapters/secrets/audit-key.file.js';
import { ScaledClock } from '../../lib/adapters/runtime/clock.js';
import { Checkpointer, readCheckpoints } from '../../lib/core/audit/checkpoints.js';
import type { Store } from '../../lib/core/ports.js';

/*
 * The AWS host's checkpoint log through the real S3 client, against an S3-shaped server on loopback that keeps
 * objects in memory, honours If-None-Match: * (412 when the key exists) and never lets an object be replaced, as
 * a COMPLIANCE Object Lock does. No AWS here.
 */

const objects = new Map<string, { body: string; lock?: string; retainUntil?: string; checksum?: string }>();
let server: Server;
let client: S3Client;

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://s3');
    const key = decodeURIComponent(url.pathname.replace(/^\/evidence\//, ''));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'PUT') {
        if (objects.has(key)) return void res.writeHead(412, { 'content-type': 'application/xml' }).end('<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>');
        objects.set(key, {
          body: Buffer.concat(chunks).toString('utf8'),
          lock: req.headers['x-amz-object-lock-mode'] as string | undefined,
          retainUntil: req.headers['x-amz-object-lock-retain-until-date'] as string | undefined,
          checksum: (req.headers['x-amz-checksum-sha256'] ?? req.headers['x-amz-trailer']) as string | undefined,
        });
        return void res.writeHead(200, { etag: '"e"' }).end();
      }
      if (url.searchParams.get('list-type') === '2') {
        const prefix = url.searchParams.get('prefix') ?? '';
        const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
        const xml = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>evidence</Name><Prefix>${prefix}</Prefix><KeyCount>${keys.length}</KeyCount><IsTruncated>false</IsTruncated>${keys.map((k) => `<Contents><Key>${k}</Key><Size>1</Size></Contents>`).join('')}</ListBucketResult>`;
        return void res.writeHead(200, { 'content-type': 'application/xml' }).end(xml);
      }
      const found = objects.get(key);
      if (!found) return void res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
      res.writeHead(200, { 'content-type': 'application/json' }).end(found.body);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  client = new S3Client({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forcePathStyle: true,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client.destroy();
  await new Promise<void>((ok) => server.close(() => ok()));
});

/** A store with one campaign whose one chain grows by a step each time it is read. */
function growingStore(): Pick<Store, 'listChainHeads' | 'listChains' | 'chainHead' | 'listCampaigns'> {
  let seq = 0;
  return {
    listCampaigns: async () => [],
    listChains: async () => ['case:c1'],
    chainHead: async () => undefined,
    listChainHeads: async () => [{ chain: 'case:c1', seq: seq++, hash: randomBytes(32).toString('hex') }],
  };
}

describe('S3CheckpointLog', () => {
  it('writes each checkpoint once, locked, and reads the log back as a chain that verifies under the key', async () => {
    const key = auditKeyFromBytes(randomBytes(32));
    const log = new S3CheckpointLog({ bucket: 'evidence', client, retainDays: 400 });
    const checkpointer = new Checkpointer({ store: growingStore(), clock: new ScaledClock(), log, auditKey: key, otherTrails: ['cmp_1'] });
    await checkpointer.open();
    await checkpointer.checkpoint(['cmp_1'], 'campaign running -> done');

    expect([...objects.keys()]).toEqual(['audit-checkpoints/000000000001.json', 'audit-checkpoints/000000000002.json']);
    expect([...objects.values()].every((o) => o.lock === 'COMPLIANCE' && o.retainUntil !== undefined)).toBe(true);
    const reading = await readCheckpoints(await log.readAll(), key);
    expect(reading).toMatchObject({ ok: true, records: 2, macsChecked: true });
    expect(reading.heads['cmp_1']?.['case:c1']?.seq).toBe(1);
  });

  it('refuses to write over a record that exists, as a second writer finds it', async () => {
    const log = new S3CheckpointLog({ bucket: 'evidence', client });
    await expect(log.append({ n: 1, forged: true })).rejects.toMatchObject({ name: 'AlreadyExistsError' });
    expect(objects.get('audit-checkpoints/000000000001.json')?.body).not.toContain('forged');
  });

  it('finds the newest record by asking for numbers, whatever the log\'s length, and a checkpointer opened there continues it', async () => {
    const log = new S3CheckpointLog({ bucket: 'evidence', client, prefix: 'long/' });
    expect(await log.readLast()).toBeUndefined();
    for (let n = 1; n <= 37; n++) {
      await log.append({ n, hash: `h${n}` });
      // a log of any length: powers of two, one past them, and in between
      expect(await log.readLast()).toEqual({ n, hash: `h${n}` });
    }
    const checkpointer = new Checkpointer({ store: growingStore(), clock: new ScaledClock(), log, otherTrails: ['cmp_1'] });
    expect(await checkpointer.open({ baseline: true, fromEnd: true })).toMatchObject({ records: 37, last: { n: 37, hash: 'h37' } });
    const next = await checkpointer.checkpoint(['cmp_1'], 'campaign routing -> sending');
    expect(next).toMatchObject({ n: 38, prev: 'h37' });
  });
});
