import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AlreadyExistsError } from '../../core/errors.js';
import type { CheckpointLog } from '../../core/ports.js';

export interface S3CheckpointLogOptions {
  /** the evidence bucket, with Object Lock in COMPLIANCE mode and a default retention (lib/infra/evidence-bucket.ts) */
  readonly bucket: string;
  /** @default 'audit-checkpoints/' */
  readonly prefix?: string;
  /** lock each record until this many days from its writing, whatever the bucket's default @default the bucket's default retention */
  readonly retainDays?: number;
  /** @default a new S3Client for the SDK's region */
  readonly client?: Pick<S3Client, 'send'>;
}

/**
 * The AWS host's checkpoint log: one object per record in the Object Lock bucket, `<prefix><n, 12 digits>.json`.
 * Written only if absent (If-None-Match: *), so two writers never replace each other's record; under a
 * COMPLIANCE retention nobody, the account's root included, can delete or overwrite a record before it ends:
 * unlike the embedded host's file, the log cannot be cut off at its end either.
 */
export class S3CheckpointLog implements CheckpointLog {
  private readonly client: Pick<S3Client, 'send'>;
  private readonly prefix: string;

  constructor(private readonly options: S3CheckpointLogOptions) {
    this.client = options.client ?? new S3Client({});
    this.prefix = options.prefix ?? 'audit-checkpoints/';
  }

  async readAll(): Promise<unknown[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: this.prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) if (o.Key && /\/?\d{12}\.json$/.test(o.Key)) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    keys.sort();
    const out: unknown[] = [];
    for (const key of keys) {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      const text = (await object.Body?.transformToString('utf8')) ?? '';
      try {
        out.push(JSON.parse(text) as unknown);
      } catch {
        // kept in its place as text: the reader reports it as a broken record
        out.push(text);
      }
    }
    return out;
  }

  /**
   * The newest record, found by asking for numbers (the log has no gap): doubling until one is missing, then
   * halving the interval, so 2 log2(n) requests find it where reading the log would take n.
   */
  async readLast(): Promise<unknown> {
    if (!(await this.exists(1))) return undefined;
    let present = 1;
    let missing = 2;
    while (await this.exists(missing)) {
      present = missing;
      missing *= 2;
    }
    while (missing - present > 1) {
      const mid = Math.floor((present + missing) / 2);
      if (await this.exists(mid)) present = mid;
      else missing = mid;
    }
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(present) }));
    const text = (await object.Body?.transformToString('utf8')) ?? '';
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }

  private keyOf(n: number): string {
    return `${this.prefix}${String(n).padStart(12, '0')}.json`;
  }

  private async exists(n: number): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(n) }));
      return true;
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || (e as Error).name === 'NotFound' || (e as Error).name === 'NoSuchKey') return false;
      throw e;
    }
  }

  async append(record: { readonly n: number } & Record<string, unknown>): Promise<void> {
    const key = this.keyOf(record.n);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          Body: JSON.stringify(record),
          ContentType: 'application/json',
          // Object Lock buckets take no write without an integrity checksum
          ChecksumAlgorithm: 'SHA256',
          IfNoneMatch: '*',
          ...(this.options.retainDays
            ? { ObjectLockMode: 'COMPLIANCE' as const, ObjectLockRetainUntilDate: new Date(Date.now() + this.options.retainDays * 86_400_000) }
            : {}),
        }),
      );
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 412 || (e as Error).name === 'PreconditionFailed') throw new AlreadyExistsError('checkpoint', String(record.n));
      throw e;
    }
  }
}
