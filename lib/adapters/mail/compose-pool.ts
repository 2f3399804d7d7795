import { Worker } from 'node:worker_threads';
import type { MailDraft } from '../../core/ports.js';
import type { DkimKey } from './signed-compose.js';

type Compose = (draft: MailDraft) => Promise<string>;

interface Job {
  readonly draft: MailDraft;
  readonly resolve: (raw: string) => void;
  readonly reject: (err: unknown) => void;
}

interface Thread {
  readonly worker: Worker;
  readonly jobs: Map<number, Job>;
}

/** A thread's answer to a job: the bytes, or word that composing failed there. */
type Answer = { readonly id: number; readonly raw: string } | { readonly id: number; readonly failed: true };

// a thread that dies this many times is not started again: composing goes on, on the calling thread
const MAX_DEATHS = 3;

/**
 * Composes messages on worker threads. Building the MIME tree (nodemailer's streams) and signing it cost about a
 * millisecond a notice, on the one thread that also runs the engine, the store and the SMTP client; sending is
 * bound by that thread (bench: sending's profile). A worker thread does it beside.
 *
 * Composing is a pure function of the draft, so whatever goes wrong in a thread costs nothing but time: a draft
 * the thread could not compose is composed again here (and fails here with its real error, if it fails), and the
 * jobs of a thread that died are composed here. After MAX_DEATHS deaths no thread is started again.
 */
export class ComposePool {
  private readonly threads: Thread[] = [];
  private seq = 0;
  private deaths = 0;
  private closed = false;

  /**
   * @param size how many threads at most (0: none, everything is composed by `inline`)
   * @param inline the same composition on the calling thread
   */
  constructor(
    private readonly size: number,
    private readonly dkim: DkimKey | undefined,
    private readonly inline: Compose,
    private readonly onDeath: (err: unknown) => void = () => {},
  ) {}

  compose(draft: MailDraft): Promise<string> {
    const thread = this.pick();
    if (!thread) return this.inline(draft);
    const id = ++this.seq;
    return new Promise<string>((resolve, reject) => {
      try {
        thread.worker.postMessage({ id, draft });
      } catch {
        // a draft that cannot be copied to a thread (structured clone) is composed here
        this.inline(draft).then(resolve, reject);
        return;
      }
      // a thread with work keeps the process alive until it answers
      if (thread.jobs.size === 0) thread.worker.ref();
      thread.jobs.set(id, { draft, resolve, reject });
    });
  }

  /** Stops the threads; a job still in one is composed here. */
  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    await Promise.all(threads.map((t) => t.worker.terminate()));
    for (const t of threads) this.takeBack(t);
  }

  /** The thread with the fewest jobs, a new one while there are fewer than `size`; none when threads are off. */
  private pick(): Thread | undefined {
    if (this.closed || this.size <= 0 || this.deaths >= MAX_DEATHS) return undefined;
    const idle = this.threads.find((t) => t.jobs.size === 0);
    if (idle) return idle;
    if (this.threads.length < this.size) return this.start();
    return this.threads.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
  }

  private start(): Thread {
    const worker = new Worker(new URL('./compose.worker.mjs', import.meta.url), { workerData: { dkim: this.dkim } });
    // an idle thread does not keep a command from exiting
    worker.unref();
    const thread: Thread = { worker, jobs: new Map() };
    worker.on('message', (answer: Answer) => {
      const job = thread.jobs.get(answer.id);
      if (!job) return;
      thread.jobs.delete(answer.id);
      if (thread.jobs.size === 0) worker.unref();
      if ('raw' in answer) job.resolve(answer.raw);
      else this.inline(job.draft).then(job.resolve, job.reject);
    });
    const died = (err: unknown): void => {
      const at = this.threads.indexOf(thread);
      if (at === -1) return;
      this.threads.splice(at, 1);
      this.deaths++;
      this.onDeath(err);
      this.takeBack(thread);
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`a compose thread exited (code ${code})`)));
    this.threads.push(thread);
    return thread;
  }

  /** A stopped thread's jobs, composed here. */
  private takeBack(thread: Thread): void {
    const jobs = [...thread.jobs.values()];
    thread.jobs.clear();
    for (const job of jobs) this.inline(job.draft).then(job.resolve, job.reject);
  }
}
