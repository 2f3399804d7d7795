import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseS3Url, uploadEvidencePack } from '../../lib/adapters/aws/evidence-upload.js';

/*
 * An evidence pack copied into S3 by the real S3 client, against an S3-shaped server on loopback that records
 * each PutObject (no AWS here): every file lands under the prefix with a SHA-256 checksum S3 would check, and
 * the manifest comes last.
 */

let server: Server;
let s3: S3Client;
const puts: { path: string; body: Buffer; checksum?: string }[] = [];
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'PUT') return void res.writeHead(405).end();
      puts.push({ path: decodeURIComponent(req.url!.split('?')[0]!), body: Buffer.concat(chunks), checksum: req.headers['x-amz-checksum-sha256'] as string | undefined });
      res.writeHead(200, { etag: '"e"' }).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  s3 = new S3Client({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forcePathStyle: true,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
    maxAttempts: 1,
  });
  dir = mkdtempSync(join(tmpdir(), 'takedown-pack-'));
  mkdirSync(join(dir, 'messages', 'out'), { recursive: true });
  writeFileSync(join(dir, 'manifest.json'), '{"campaign":"cmp_x"}');
  writeFileSync(join(dir, 'events.jsonl'), '{"seq":0}\n');
  writeFileSync(join(dir, 'messages', 'out', 'n1.notice.0.eml'), 'Subject: notice\r\n\r\nbody');
});

afterAll(async () => {
  s3.destroy();
  await new Promise<void>((ok) => server.close(() => ok()));
  rmSync(dir, { recursive: true, force: true });
});

describe('uploadEvidencePack', () => {
  it('copies every file under the prefix with its SHA-256, the manifest last', async () => {
    const keys = await uploadEvidencePack(dir, 's3://evidence-bucket/court/cmp_x/', s3);
    expect(keys).toEqual(['court/cmp_x/events.jsonl', 'court/cmp_x/messages/out/n1.notice.0.eml', 'court/cmp_x/manifest.json']);
    expect(puts.map((p) => p.path)).toEqual(keys.map((k) => `/evidence-bucket/${k}`));
    for (const p of puts) expect(p.checksum).toBe(createHash('sha256').update(p.body).digest('base64'));
    expect(puts[1]!.body.toString()).toBe('Subject: notice\r\n\r\nbody');
  });

  it('names a bad location before anything is written', () => {
    expect(() => parseS3Url('https://evidence-bucket/x')).toThrow(/not an S3 location/);
    expect(parseS3Url('s3://evidence-bucket')).toEqual({ bucket: 'evidence-bucket', prefix: '' });
  });
});
