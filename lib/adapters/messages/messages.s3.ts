import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { MessageStore } from '../../core/ports.js';

export interface S3MessageStoreOptions {
  readonly bucket: string;
  /** @default '' */
  readonly prefix?: string;
  /** an SDK client to reuse; @default a new one (AWS_REGION, AWS_ENDPOINT_URL) */
  readonly client?: S3Client;
}

/**
 * The messages we send, one object per part, in the stack's message bucket (encrypted, private, TLS only): a
 * DynamoDB item holds 400 KB, a notice to a big hoster is megabytes.
 */
export class S3MessageStore implements MessageStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(options: S3MessageStoreOptions) {
    this.client = options.client ?? new S3Client({});
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
  }

  async put(key: string, raw: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Body: raw, ContentType: 'message/rfc822' }),
    );
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return await out.Body?.transformToString('utf-8');
    } catch (e) {
      if (e instanceof NoSuchKey || (e as { name?: string }).name === 'NoSuchKey') return undefined;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
  }
}
