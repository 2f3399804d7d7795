import { parentPort, workerData } from 'node:worker_threads';
import { jobRunner, type Job, type Setup } from './jobs.js';

/** The body of a compose thread (OffloadPool): a job in, what it made (or word of a failure) out. */
const setup = workerData as Setup;
const run = jobRunner(setup.dkim, () => setup.templates);
const port = parentPort!;

port.on('message', ({ id, job }: { id: number; job: Job }) => {
  // the failure itself is not sent: the pool does the job again on its own thread, where it fails for real
  run(job).then(
    (done) => port.postMessage({ id, done }),
    () => port.postMessage({ id, failed: true }),
  );
});
