import { z } from 'zod';
import { SweeperRestart, type CampaignIndicator } from '../model.js';
import type { Deps, UploadStore } from '../ports.js';
import { AlreadyExistsError, CampaignStateError, InvalidInputError, NotFoundError, StaleWriteError, type InputIssue } from '../errors.js';
import { executionName, restartDue, sweeperRestart } from '../executions.js';
import { readSubmission, recordSubmittedCampaign, SubmitCampaignInput } from './submit.js';

/**
 * A file too big for a request body, submitted in three steps: `POST /uploads` gives a presigned URL, the
 * coordinator PUTs the file there, `POST /campaigns { upload }` starts the campaign workflow, whose first steps
 * read the file from storage (readUploadStep), a piece at a time and a page of indicators per step, with the same
 * all-or-nothing rule and located errors as any file: a bad line refuses the whole upload, and no campaign exists.
 */

/** The largest upload, in bytes (200,000 indicators of a CSV with evidence fit in less). */
export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;
/** Fresh indicators stored per step of the workflow's reading loop @default (Settings.uploadPageSize) */
export const DEFAULT_UPLOAD_PAGE = 50_000;
/** The located errors kept with a refused upload (a record is one DynamoDB item); the count says how many there were. */
const KEPT_ISSUES = 200;

export const UPLOAD_KIND = 'upload';

const UploadRecord = z.object({
  id: z.string(),
  state: z.enum(['pending', 'reading', 'accepted', 'refused']),
  size: z.number().int(),
  createdBy: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  campaignId: z.string().optional(),
  /** the submission, once `POST /campaigns` named the upload */
  submission: z.record(z.string(), z.unknown()).optional(),
  refusal: z.object({ message: z.string(), issues: z.array(z.object({ where: z.string(), reason: z.string() })), count: z.number().int() }).optional(),
  /**
   * the round of the campaign workflow reading it (its execution's `-r<round>`): absent is 1; the sweeper starts a
   * failed one again as the next, and the campaign it records takes that round
   */
  round: z.number().int().min(1).optional(),
  /** the sweeper's last start of a failed reading */
  restarted: SweeperRestart.optional(),
});
export type UploadRecord = z.infer<typeof UploadRecord>;

/** A submission that names an upload instead of carrying the file. */
export const SubmitUploadInput = SubmitCampaignInput.omit({ content: true }).extend({ upload: z.string().regex(/^upl_[a-z0-9]{8,40}$/) });
export type SubmitUploadInput = z.input<typeof SubmitUploadInput>;

function uploadsOf(deps: Pick<Deps, 'uploads'>): UploadStore {
  if (!deps.uploads) throw new InvalidInputError('this host takes files in the request', [{ where: 'upload', reason: 'no upload store: send the file as `content`' }]);
  return deps.uploads;
}

const objectKey = (id: string) => `uploads/${id}`;

async function getUpload(deps: Pick<Deps, 'store'>, id: string): Promise<{ upload: UploadRecord; version: number }> {
  const record = await deps.store.getRecord(UPLOAD_KIND, id);
  if (!record) throw new NotFoundError('upload', id);
  return { upload: UploadRecord.parse(JSON.parse(record.value)), version: record.version };
}

async function saveUpload(deps: Pick<Deps, 'store'>, upload: UploadRecord, expect: 'absent' | number): Promise<void> {
  await deps.store.putRecord({ kind: UPLOAD_KIND, key: upload.id, value: JSON.stringify(upload), version: expect === 'absent' ? 1 : expect + 1, expiresAt: new Date(Date.parse(upload.expiresAt) + 30 * 86_400_000).toISOString() }, expect);
}

/** Where to upload a file of `size` bytes: `{ upload, url, expiresAt }`. */
export async function createUpload(deps: Pick<Deps, 'store' | 'ids' | 'clock' | 'uploads'>, input: { size: number; by: string }): Promise<{ upload: string; url: string; expiresAt: string }> {
  const uploads = uploadsOf(deps);
  if (!Number.isInteger(input.size) || input.size < 1 || input.size > MAX_UPLOAD_BYTES) {
    throw new InvalidInputError('the upload size is not valid', [{ where: 'size', reason: `whole bytes from 1 to ${MAX_UPLOAD_BYTES}` }]);
  }
  const id = deps.ids.newId('upl_');
  const { url, expiresAt } = await uploads.createUpload(objectKey(id), input.size);
  await saveUpload(deps, { id, state: 'pending', size: input.size, createdBy: input.by, createdAt: deps.clock.now().toISOString(), expiresAt }, 'absent');
  return { upload: id, url, expiresAt };
}

/** What an upload became: pending, being read, accepted (its campaign), or refused (with the located errors). */
export async function uploadStatus(deps: Pick<Deps, 'store'>, id: string): Promise<UploadRecord> {
  const { upload } = await getUpload(deps, id);
  const { submission: _s, ...visible } = upload;
  return visible;
}

/**
 * Starts the campaign workflow on an uploaded file: checked here (the submission's fields, the upload's state,
 * that the file is there), read by the workflow. The campaign id derives from the upload, so a retried request
 * starts nothing twice. Returns the campaign id the campaign will have once its file is accepted.
 */
export async function submitUpload(deps: Deps, raw: SubmitUploadInput): Promise<{ upload: string; campaignId: string; repeated?: true }> {
  const uploads = uploadsOf(deps);
  const parsed = SubmitUploadInput.safeParse(raw);
  if (!parsed.success) throw new InvalidInputError('the campaign submission is not valid', parsed.error.issues.map((i) => ({ where: i.path.join('.') || '(body)', reason: i.message })));
  const { upload: id, ...submission } = parsed.data;
  const { upload, version } = await getUpload(deps, id);
  const campaignId = deps.ids.derive('cmp_', 'upload', id);
  if (upload.state !== 'pending') {
    if (upload.campaignId === campaignId) return { upload: id, campaignId, repeated: true };
    throw new CampaignStateError(campaignId, upload.state, 'submit the upload');
  }
  const file = await uploads.open(objectKey(id));
  if (!file) throw new InvalidInputError('nothing was uploaded yet', [{ where: 'upload', reason: `PUT the file to the upload's URL first (until ${upload.expiresAt})` }]);
  if (file.size !== upload.size) throw new InvalidInputError('the uploaded file is not the size announced', [{ where: 'upload', reason: `${file.size} bytes, announced ${upload.size}` }]);
  try {
    await saveUpload(deps, { ...upload, state: 'reading', campaignId, submission }, version);
  } catch (e) {
    // another request named it at the same moment: it starts the workflow
    if ((e as Error).name === 'StaleWriteError') return { upload: id, campaignId, repeated: true };
    throw e;
  }
  await startReading(deps, campaignId, id, 1);
  return { upload: id, campaignId };
}

/** The campaign workflow that reads an upload, then routes and sends what it holds. */
function startReading(deps: Pick<Deps, 'workflows'>, campaignId: string, uploadId: string, round: number): Promise<void> {
  return deps.workflows.start('campaign', executionName('campaign', campaignId, round), { campaignId, upload: uploadId, intake: {}, route: {}, start: {} });
}

/**
 * The sweeper's part for uploads: one whose reading workflow failed (its retries ran out) or never started before
 * its campaign existed is read again, a failed one as its next round; once the campaign exists, the campaign's own
 * sweep takes over. An upload named longer ago than `windowMs` is left (its file may be gone; a person uploads it
 * again). Returns how many were asked about, how many started and how many wait (RESTART_BACKOFF).
 */
export async function restartReadings(deps: Deps, windowMs: number): Promise<{ checked: number; started: number; waiting: number }> {
  let checked = 0;
  let started = 0;
  let waiting = 0;
  const at = deps.clock.now();
  const now = at.getTime();
  let after: string | undefined;
  do {
    const page = await deps.store.listRecords(UPLOAD_KIND, { after, limit: 1000 });
    for (const record of page.items) {
      const parsed = UploadRecord.safeParse(JSON.parse(record.value));
      if (!parsed.success) continue;
      const upload = parsed.data;
      if (upload.state !== 'reading' || !upload.campaignId || now - Date.parse(upload.createdAt) > windowMs) continue;
      if (await deps.store.getCampaign(upload.campaignId)) continue;
      checked++;
      const round = upload.round ?? 1;
      const status = await deps.workflows.describe('campaign', executionName('campaign', upload.campaignId, round));
      if (status === 'running' || status === 'succeeded') continue;
      if (status === 'failed') {
        // one the sweeper read again that failed again waits (RESTART_BACKOFF)
        if (!restartDue(upload.restarted, round, at)) {
          waiting++;
          continue;
        }
        try {
          await saveUpload(deps, { ...upload, round: round + 1, restarted: sweeperRestart(upload.restarted, round, at) }, record.version);
        } catch (e) {
          // another sweep moved it on meanwhile: its round is the one that runs
          if (e instanceof StaleWriteError) continue;
          throw e;
        }
        deps.log.info('upload read again: its workflow had failed', { upload: upload.id, campaignId: upload.campaignId, round: round + 1 });
      }
      await startReading(deps, upload.campaignId, upload.id, status === 'failed' ? round + 1 : round);
      started++;
    }
    after = page.next;
  } while (after);
  return { checked, started, waiting };
}

/** Where a reading of an upload stands between two steps of the workflow (the ASL state carries it). */
export const UploadCursor = z.object({
  /** unique indicators of the file handled so far */
  unique: z.number().int().min(0).default(0),
  /** of them, fresh ones stored (the rest were already handled by a live case elsewhere) */
  fresh: z.number().int().min(0).default(0),
  // always present in a step's answer: a Choice on a missing field is a runtime error on Step Functions
  done: z.boolean().default(false),
  refused: z.boolean().default(false),
});
export type UploadCursor = z.infer<typeof UploadCursor>;

class PageFull extends Error {
  constructor(readonly cursor: UploadCursor) {
    super('page full');
    this.name = 'PageFull';
  }
}

/**
 * One step of the campaign workflow's reading loop: reads the upload from its start (checking all of it, as file
 * intake does, so a bad line anywhere refuses the whole file before anything is stored), passes over what earlier
 * steps stored, stores the next page of fresh indicators, and says where it stopped. The last step records the
 * campaign. A refused file refuses the upload, with its located errors, and the campaign never exists.
 */
export async function readUploadStep(deps: Deps, campaignId: string, uploadId: string, from: UploadCursor): Promise<UploadCursor> {
  const uploads = uploadsOf(deps);
  const { upload, version } = await getUpload(deps, uploadId);
  if (upload.state === 'refused') return { ...from, done: true, refused: true };
  if (upload.state === 'accepted' || (await deps.store.getCampaign(campaignId))) return { ...from, done: true, refused: false };
  if (upload.state !== 'reading' || upload.campaignId !== campaignId || !upload.submission) throw new CampaignStateError(campaignId, upload.state, 'read the upload');
  const file = await uploads.open(objectKey(uploadId));
  if (!file) return refuse(deps, upload, version, from, new InvalidInputError('the uploaded file is gone', [{ where: 'upload', reason: 'it expired before it was read: upload it again' }]));
  const page = Math.max(1, deps.settings.uploadPageSize ?? DEFAULT_UPLOAD_PAGE);
  let stored = 0;
  let submission;
  try {
    submission = await readSubmission(deps, { ...(upload.submission as object), content: file } as never, {
      skipUnique: from.unique,
      freshBase: from.fresh,
      onFresh: async (fresh, seq, _head, through, last) => {
        for (let i = 0; i < fresh.length; i += 5000) {
          const rows: CampaignIndicator[] = fresh.slice(i, i + 5000).map((indicator, j) => ({ campaignId, seq: seq + i + j, indicator }));
          await deps.store.putIndicators(rows);
        }
        stored += fresh.length;
        // the last batch is stored here whatever the page: a step after it would read the file again for nothing
        if (stored >= page && !last) throw new PageFull({ unique: through, fresh: seq + fresh.length, done: false, refused: false });
      },
    });
  } catch (e) {
    if (e instanceof PageFull) {
      deps.log.info('upload read: a page stored', { campaignId, unique: e.cursor.unique, fresh: e.cursor.fresh });
      return e.cursor;
    }
    if (e instanceof InvalidInputError) return refuse(deps, upload, version, from, e);
    throw e;
  }
  const { input, intake, tlp, tlpPermission, freshCount } = submission;
  if (freshCount === 0) {
    return refuse(deps, upload, version, from, new InvalidInputError('nothing to do: every indicator is already handled by an open case', [{ where: 'file', reason: `${intake.unique} indicators, all open in other campaigns` }]));
  }
  await recordSubmittedCampaign(deps, { id: campaignId, input, intake, tlp, ...(tlpPermission ? { tlpPermission } : {}), freshCount, alreadyOpen: intake.unique - freshCount, state: 'routing', ...(upload.round ? { round: upload.round } : {}) });
  await saveUpload(deps, { ...upload, state: 'accepted' }, version).catch((e: unknown) => {
    // the campaign stands: the upload's own state is for people, and says accepted at the next read of it
    if (!(e instanceof AlreadyExistsError) && (e as Error).name !== 'StaleWriteError') throw e;
  });
  return { unique: intake.unique, fresh: freshCount, done: true, refused: false };
}

async function refuse(deps: Deps, upload: UploadRecord, version: number, from: UploadCursor, error: InvalidInputError): Promise<UploadCursor> {
  const issues: InputIssue[] = error.issues.slice(0, KEPT_ISSUES).map((i) => ({ where: i.where.slice(0, 200), reason: i.reason.slice(0, 300) }));
  await saveUpload(deps, { ...upload, state: 'refused', refusal: { message: error.message, issues, count: error.issues.length } }, version);
  deps.log.warn('upload refused', { upload: upload.id, problems: error.issues.length });
  return { ...from, done: true, refused: true };
}
