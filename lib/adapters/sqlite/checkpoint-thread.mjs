// The thread of WalCheckpoints (wal-checkpoints.ts): copies each file's write-ahead log back into the file, on a
// connection of its own, so that the thread that writes never waits for that copy or its fsyncs.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { files, everyMs } = workerData;
const dbs = files.map((file) => new Database(file, { fileMustExist: true }));
let failed = false;

function checkpoint() {
  for (const db of dbs) {
    try {
      // PASSIVE: never waits for a lock and never holds up a writer; what a writer adds meanwhile waits for next time
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch (e) {
      // said once: the writer's own checkpoints go on as before
      if (!failed) parentPort.postMessage({ failed: `${db.name}: ${e instanceof Error ? e.message : String(e)}` });
      failed = true;
    }
  }
}

const timer = setInterval(checkpoint, everyMs);
parentPort.on('message', (message) => {
  if (message !== 'close') return;
  clearInterval(timer);
  for (const db of dbs) db.close();
  parentPort.close();
});
