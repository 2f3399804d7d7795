import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { receiveMail, type InboundResult } from '../../core/answers/index.js';
import { verdictsFromSesHeaders, verdictsFromSesReceipt } from '../../core/answers/index.js';
import type { Deps } from '../../core/ports.js';
import { parseMail } from '../mail/parse.js';

/** Where the receipt rule's S3 action stores messages; lib/infra/inbound-mail.ts sets it. */
const InboundEnv = z.object({
  INBOUND_BUCKET: z.string().min(1),
  INBOUND_PREFIX: z.string().default('inbound/'),
});
export type InboundEnv = z.infer<typeof InboundEnv>;

/** Reads the inbound function's bucket settings; the error names the variables, never their values. */
export function readInboundEnv(env: NodeJS.ProcessEnv = process.env): InboundEnv {
  const parsed = InboundEnv.safeParse(env);
  if (!parsed.success) throw new Error(`the inbound mail environment is incomplete (${[...new Set(parsed.error.issues.map((i) => String(i.path[0])))].join(', ')})`);
  return parsed.data;
}

const Verdict = z.object({ status: z.string() }).partial().optional();

/** The SES receipt rule's Lambda action event (it runs after the S3 action stored the message). */
const SesRecord = z.object({
  eventSource: z.literal('aws:ses'),
  ses: z.object({
    mail: z.object({ messageId: z.string().min(1), source: z.string().optional() }),
    receipt: z.object({
      recipients: z.array(z.string()).default([]),
      spfVerdict: Verdict,
      dkimVerdict: Verdict,
      dmarcVerdict: Verdict,
      dmarcPolicy: z.string().optional(),
      spamVerdict: Verdict,
      virusVerdict: Verdict,
    }),
  }),
});

/** An S3 event of a stored message (a message put into the bucket again to be read again). */
const S3Record = z.object({
  eventSource: z.literal('aws:s3'),
  s3: z.object({ bucket: z.object({ name: z.string().min(1) }), object: z.object({ key: z.string().min(1) }) }),
});

const InboundEvent = z.object({ Records: z.array(z.union([SesRecord, S3Record])).min(1) });

/**
 * The inbound mail function: read each message the receipt rule stored, parse it, and hand it to receiveMail with
 * its `s3://bucket/key`. The verdicts SES reached (the receipt of its event, else the X-SES-* and
 * Authentication-Results headers it wrote into the stored copy) stand in for our own SPF/DKIM/DMARC checks.
 */
export async function handleInboundMail(
  deps: Deps,
  event: unknown,
  options: { readonly s3: Pick<S3Client, 'send'>; readonly env: InboundEnv },
): Promise<InboundResult[]> {
  const parsed = InboundEvent.safeParse(event);
  if (!parsed.success) {
    // a retry cannot make an unknown event readable: say so and take it as handled
    deps.log.error('inbound mail: not an SES receipt or S3 event', { issues: parsed.error.issues.length });
    return [];
  }
  const results: InboundResult[] = [];
  for (const record of parsed.data.Records) {
    const { bucket, key } =
      record.eventSource === 'aws:ses'
        ? { bucket: options.env.INBOUND_BUCKET, key: `${options.env.INBOUND_PREFIX}${record.ses.mail.messageId}` }
        : // S3 event keys are URL-encoded, with '+' for a space
          { bucket: record.s3.bucket.name, key: decodeURIComponent(record.s3.object.key.replace(/\+/g, ' ')) };
    const bytes = await readObject(options.s3, bucket, key);
    const receipt = record.eventSource === 'aws:ses' ? record.ses.receipt : undefined;
    const mail = await parseMail(bytes, receipt?.recipients ?? []);
    const auth = receipt ? verdictsFromSesReceipt(receipt) : verdictsFromSesHeaders(mail.headers);
    const client = record.eventSource === 'aws:ses' && record.ses.mail.source !== undefined ? { mailFrom: record.ses.mail.source } : undefined;
    const result = await receiveMail(deps, { ...mail, ...(auth ? { auth } : {}), ...(client ? { client } : {}) }, { rawRef: `s3://${bucket}/${key}` });
    deps.log.info('inbound mail', { key, class: result.class, outcome: result.outcome, matched: result.matched, notice: result.noticeId, intent: result.intent });
    results.push(result);
  }
  return results;
}

async function readObject(s3: Pick<S3Client, 'send'>, bucket: string, key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!out.Body) throw new Error('the stored message has no body');
  return Buffer.from(await out.Body.transformToByteArray());
}
