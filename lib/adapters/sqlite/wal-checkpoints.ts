import { Worker } from 'node:worker_threads';

/** how often the thread copies the logs back: often enough that a writer's own checkpoint rarely has much to copy */
const EVERY_MS = 100;

// the thread holds two connections and a timer: a small heap is plenty
const THREAD_HEAP = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 } as const;

/**
 * Checkpoints SQLite files in WAL mode from a thread of its own (checkpoint-thread.mjs), every EVERY_MS.
 *
 * A connection that commits checkpoints itself once its log passes `wal_autocheckpoint` pages: it copies the
 * log's pages into the file and syncs both, in the commit's call, on the event loop. Sending a campaign did so
 * ~50 times (the messages' file, whose log fills with the messages' bytes), and the main thread spent ~0.7 s of
 * ~9 s in those copies and fsyncs (perf and strace, bench). A passive checkpoint on another connection takes no
 * lock a writer needs, so the copying happens beside the writes; the writers' own checkpoints still run when their
 * logs fill (the next write can start the log over only when everything in it was copied), with little left to copy.
 *
 * Nothing depends on this thread: if it fails, it says so once (`onFailure`) and the writers checkpoint as before.
 */
export class WalCheckpoints {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private closed?: Promise<void>;

  constructor(files: readonly string[], onFailure: (message: string) => void, everyMs = EVERY_MS) {
    this.worker = new Worker(new URL('./checkpoint-thread.mjs', import.meta.url), {
      workerData: { files: [...files], everyMs },
      // none of this process's flags (tsx's loader among them): the thread's code is plain JavaScript
      execArgv: [],
      resourceLimits: THREAD_HEAP,
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (m: { failed?: string }) => {
      if (m.failed) onFailure(`the background WAL checkpoint failed; the writers checkpoint themselves: ${m.failed}`);
    });
    this.worker.on('error', (e) => onFailure(`the background WAL checkpoint thread stopped; the writers checkpoint themselves: ${e.message}`));
    // it never keeps the process alive: whatever it leaves, the writers' next checkpoint copies
    this.worker.unref();
  }

  /** Stops the thread once its connections are closed (before the writers close theirs). */
  close(): Promise<void> {
    return (this.closed ??= (async () => {
      // waited for: an unreferenced thread would let the process end with this promise still pending
      this.worker.ref();
      this.worker.postMessage('close');
      await this.exited;
    })());
  }
}
