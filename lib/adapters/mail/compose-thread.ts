import { parentPort, workerData } from 'node:worker_threads';
import type { MailDraft } from '../../core/ports.js';
import { signedComposer, type DkimKey } from './signed-compose.js';

/** The body of a compose thread (ComposePool): a job in, its bytes (or word of a failure) out. */
const compose = signedComposer((workerData as { dkim?: DkimKey } | undefined)?.dkim);
const port = parentPort!;

port.on('message', (job: { id: number; draft: MailDraft }) => {
  // the failure itself is not sent: the pool composes the draft again on its own thread, where it fails for real
  compose(job.draft).then(
    (raw) => port.postMessage({ id: job.id, raw }),
    () => port.postMessage({ id: job.id, failed: true }),
  );
});
