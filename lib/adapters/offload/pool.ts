import { Worker } from 'node:worker_threads';
import type { MailDraft, Offload, RenderJob, TemplateFolders } from '../../core/ports.js';
import type { DkimKey } from '../mail/signed-compose.js';
import { jobRunner, type Done, type Job, type Setup } from './jobs.js';

interface Pending {
  readonly job: Job;
  readonly resolve: (done: Done) => void;
  readonly reject: (err: unknown) => void;
}

interface Thread {
  readonly worker: Worker;
  readonly jobs: Map<number, Pending>;
  /** fires when the thread has owed an answer for jobTimeoutMs: a thread that hangs is stopped, its jobs done here */
  readonly watchdog: NodeJS.Timeout;
}

/** A thread's answer: what the job made, or word that it failed there. */
type Answer = { readonly id: number; readonly done: Done } | { readonly id: number; readonly failed: true };

// a thread that dies this many times is not started again: the work goes on, on the main thread
const MAX_DEATHS = 3;

// a thread's jobs take milliseconds (a big notice is done on the main thread): one that owes an answer this long hangs
const JOB_TIMEOUT_MS = 60_000;

// a thread's heap is capped (each thread's own garbage otherwise added ~35 MB to the campaign's peak RSS, bench);
// a job bigger than these is done on the main thread, whose heap is not: a notice of thousands of indicators is a
// part of 10 MB, and rare
const THREAD_HEAP = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 96 } as const;
const THREAD_MAX_CASES = 500;
const THREAD_MAX_CHARS = 4 * 1024 * 1024;

/** Whether a job is small enough for a thread's capped heap. */
function fitsThread(job: Job): boolean {
  if ('render' in job) return job.render.cases.length <= THREAD_MAX_CASES;
  const d = job.draft;
  const chars = d.text.length + (d.html?.length ?? 0) + (d.attachments ?? []).reduce((n, a) => n + a.content.length, 0);
  return chars <= THREAD_MAX_CHARS;
}

/**
 * Renders and composes messages on worker threads (the Offload port, and the SMTP mailer's composer). Rendering a
 * notice (text and HTML in two languages, a XARF report per indicator) and building its MIME tree cost a few
 * milliseconds a notice, on the one thread that also runs the engine, the store and the SMTP client: the thread
 * sending is bound by (bench: sending's profile).
 *
 * Both are pure functions of the job, so whatever goes wrong on a thread costs nothing but time: a job a thread
 * could not do is done again here (and fails here with its real error, if it fails), and so are the jobs of a
 * thread that died. After MAX_DEATHS deaths no thread is started again.
 */
export class OffloadPool implements Offload {
  private readonly threads: Thread[] = [];
  private here?: (job: Job) => Promise<Done>;
  private setup?: Setup;
  private readonly told = new Set<string>();
  private seq = 0;
  private deaths = 0;
  private closed = false;

  /**
   * @param size how many threads at most (0: none, every job is done on the calling thread)
   * @param templates the notice templates, asked for at the first render job or thread (a command that composes a
   * follow-up reads none)
   */
  constructor(
    private readonly size: number,
    private readonly dkim: DkimKey | undefined,
    private readonly templates: () => TemplateFolders,
    private readonly warn: (message: string, detail: Record<string, unknown>) => void = () => {},
    /** how long a thread may owe an answer before it is stopped (a test shortens it) */
    private readonly jobTimeoutMs = JOB_TIMEOUT_MS,
  ) {}

  /** How many threads are running now. */
  get running(): number {
    return this.threads.length;
  }

  /** Tells of a job done here that a thread should have done: once, or a broken thread would say so for every notice. */
  private warnOnce(message: string, detail: Record<string, unknown>): void {
    if (this.told.has(message)) return;
    this.told.add(message);
    this.warn(message, detail);
  }

  /** A draft's bytes, as the host's SMTP mailer composes them. */
  async compose(draft: MailDraft): Promise<string> {
    return (await this.run({ draft })).raw;
  }

  async renderAndCompose(job: RenderJob): Promise<{ draft: MailDraft; raw: string }> {
    const done = await this.run({ render: job });
    return { draft: done.draft!, raw: done.raw };
  }

  /** Stops the threads; a job still on one is done here. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stopAll();
  }

  /** Stops every thread; their jobs are done here. */
  private async stopAll(): Promise<void> {
    const threads = this.threads.splice(0);
    for (const t of threads) clearTimeout(t.watchdog);
    await Promise.all(threads.map((t) => t.worker.terminate()));
    for (const t of threads) this.takeBack(t);
  }

  private run(job: Job): Promise<Done> {
    const thread = fitsThread(job) ? this.pick() : undefined;
    if (!thread) return this.doHere(job);
    const id = ++this.seq;
    return new Promise<Done>((resolve, reject) => {
      try {
        thread.worker.postMessage({ id, job });
      } catch (err) {
        // a job that cannot be copied to a thread (structured clone) is done here
        this.warnOnce('a job could not be handed to a compose thread; it is done on the main thread', { error: err instanceof Error ? err.name : String(err) });
        this.doHere(job).then(resolve, reject);
        return;
      }
      // a thread with work keeps the process alive until it answers, and is watched
      if (thread.jobs.size === 0) {
        thread.worker.ref();
        thread.watchdog.refresh();
      }
      thread.jobs.set(id, { job, resolve, reject });
    });
  }

  /** An idle thread, else a new one while there are fewer than `size`, else the least busy; none when threads are off. */
  private pick(): Thread | undefined {
    if (this.closed || this.size <= 0 || this.deaths >= MAX_DEATHS) return undefined;
    const idle = this.threads.find((t) => t.jobs.size === 0);
    if (idle) return idle;
    if (this.threads.length < this.size) return this.start();
    return this.threads.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
  }

  /** A new thread; none when it cannot be started (counted as a death: its job is done here). */
  private start(): Thread | undefined {
    let worker: Worker;
    try {
      // none of this process's flags: worker.mjs loads what the thread runs itself, in the thread (a loader inherited
      // from `--import tsx` would start a loader thread for it)
      worker = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: this.setupOnce(), execArgv: [], resourceLimits: THREAD_HEAP });
    } catch (err) {
      this.died(err);
      return undefined;
    }
    // an idle thread does not keep a command from exiting
    worker.unref();
    const watchdog = setTimeout(() => {
      if (thread.jobs.size === 0) return;
      this.warnOnce('a compose thread owed an answer too long; it is stopped and its work done on the main thread', { jobs: thread.jobs.size, seconds: this.jobTimeoutMs / 1000 });
      void worker.terminate();
    }, this.jobTimeoutMs);
    watchdog.unref();
    const thread: Thread = { worker, jobs: new Map(), watchdog };
    worker.on('message', (answer: Answer) => {
      const pending = thread.jobs.get(answer.id);
      if (!pending) return;
      thread.jobs.delete(answer.id);
      if (thread.jobs.size === 0) worker.unref();
      else watchdog.refresh();
      if ('done' in answer) pending.resolve(answer.done);
      else this.redo(pending);
    });
    const gone = (err: unknown): void => {
      const at = this.threads.indexOf(thread);
      if (at === -1) return;
      this.threads.splice(at, 1);
      clearTimeout(watchdog);
      this.takeBack(thread);
      this.died(err);
    };
    worker.on('error', gone);
    // an answer that cannot be read is as good as none: the thread is stopped, its jobs done here
    worker.on('messageerror', (err) => {
      gone(err);
      void worker.terminate();
    });
    worker.on('exit', (code) => gone(new Error(`a compose thread exited (code ${code})`)));
    this.threads.push(thread);
    return thread;
  }

  /** One more death: said in the log; the last one allowed stops the threads still running. */
  private died(err: unknown): void {
    this.deaths++;
    this.warn('a compose thread died; its work is done on the main thread', { error: err instanceof Error ? err.message : String(err), deaths: this.deaths });
    if (this.deaths === MAX_DEATHS) {
      this.warn(`compose threads are off after ${MAX_DEATHS} deaths: everything is rendered and composed on the main thread`, {});
      void this.stopAll();
    }
  }

  private setupOnce(): Setup {
    return (this.setup ??= { ...(this.dkim ? { dkim: this.dkim } : {}), templates: this.templates() });
  }

  /** A job done on this thread. */
  private doHere(job: Job): Promise<Done> {
    this.here ??= jobRunner(this.dkim, () => this.setupOnce().templates);
    return this.here(job);
  }

  /**
   * A job a thread failed, done here: it fails here too when the job is bad; when it does not, the thread and this
   * one disagree (a thread that cannot load what it runs would fail every job), and the log says so.
   */
  private redo(pending: Pending): void {
    this.doHere(pending.job).then((done) => {
      this.warnOnce('a compose thread failed a job the main thread did', { job: 'draft' in pending.job ? 'compose' : 'render' });
      pending.resolve(done);
    }, pending.reject);
  }

  /** A stopped thread's jobs, done here. */
  private takeBack(thread: Thread): void {
    const jobs = [...thread.jobs.values()];
    thread.jobs.clear();
    for (const p of jobs) this.doHere(p.job).then(p.resolve, p.reject);
  }
}
