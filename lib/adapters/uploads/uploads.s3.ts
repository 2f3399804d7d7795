import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { UploadStore } from '../../core/ports.js';

export interface S3UploadStoreOptions {
  /** the stack's uploads bucket (UPLOADS_BUCKET) */
  readonly bucket: string;
  /** how long a presigned URL is good for; the function's own session may end it sooner @default 3600 */
  readonly expiresInSeconds?: number;
  /** @default a new S3Client for the SDK's region and endpoint */
  readonly client?: S3Client;
  /** @default Date.now */
  readonly now?: () => number;
}

function statusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/**
 * Uploads on AWS: a presigned PUT URL per upload, signed for the exact size announced (S3 refuses a body of
 * another length), and the object read back as a stream, a GetObject per reading: intake reads a file twice and
 * never holds it whole, so a 100 MB file costs a Lambda no more memory than its reading's index.
 */
export class S3UploadStore implements UploadStore {
  private readonly client: S3Client;
  // the default client adds a checksum of the (empty) body to what it presigns, which S3 then holds the upload to:
  // a presigning client computes none
  private readonly presigner: S3Client;
  private readonly expiresIn: number;
  private readonly now: () => number;

  constructor(private readonly options: S3UploadStoreOptions) {
    this.client = options.client ?? new S3Client({});
    this.presigner = new S3Client({ requestChecksumCalculation: 'WHEN_REQUIRED' });
    this.expiresIn = options.expiresInSeconds ?? 3600;
    this.now = options.now ?? Date.now;
  }

  async createUpload(key: string, size: number): Promise<{ url: string; expiresAt: string }> {
    const url = await getSignedUrl(this.presigner, new PutObjectCommand({ Bucket: this.options.bucket, Key: key, ContentLength: size }), {
      expiresIn: this.expiresIn,
      // the length is part of the signature: the URL takes that many bytes and no other number
      signableHeaders: new Set(['content-length']),
    });
    return { url, expiresAt: new Date(this.now() + this.expiresIn * 1000).toISOString() };
  }

  async open(key: string): Promise<{ size: number; chunks(): AsyncIterable<Uint8Array> } | undefined> {
    let size: number;
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }));
      size = Number(head.ContentLength ?? 0);
    } catch (e) {
      if (statusOf(e) === 404 || (e as Error).name === 'NotFound' || (e as Error).name === 'NoSuchKey') return undefined;
      throw e;
    }
    const { client } = this;
    const bucket = this.options.bucket;
    return {
      size,
      async *chunks() {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        if (!out.Body) return;
        for await (const chunk of out.Body as AsyncIterable<Uint8Array>) yield chunk;
      },
    };
  }
}
