import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { InvalidInputError } from '../../core/errors.js';

/** `s3://bucket/prefix` -> its parts; the prefix never starts or ends with a slash. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new InvalidInputError('not an S3 location', [{ where: 'to-s3', reason: 'write s3://<bucket>/<prefix>' }]);
  return { bucket: m[1]!, prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

function filesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...filesUnder(path));
    else found.push(path);
  }
  return found;
}

/**
 * Copy an evidence pack into an S3 bucket (the stack's Object Lock bucket: its default retention, COMPLIANCE
 * mode, locks each object as it lands, so nobody can change or delete it until the retention ends). Every
 * object carries a SHA-256 checksum S3 verifies; manifest.json goes last, so a manifest in the bucket means the
 * whole pack is there. Returns the keys written, in order.
 */
export async function uploadEvidencePack(dir: string, target: string, client: Pick<S3Client, 'send'> = new S3Client({})): Promise<string[]> {
  const { bucket, prefix } = parseS3Url(target);
  const files = filesUnder(dir);
  const manifest = files.filter((f) => relative(dir, f) === 'manifest.json');
  const ordered = [...files.filter((f) => relative(dir, f) !== 'manifest.json'), ...manifest];
  const keys: string[] = [];
  for (const file of ordered) {
    const key = [prefix, relative(dir, file).split(sep).join('/')].filter(Boolean).join('/');
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(file), ChecksumAlgorithm: 'SHA256' }));
    keys.push(key);
  }
  return keys;
}
