import { createHash } from 'node:crypto';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';

export interface CaptureServerOptions {
  /** where each accepted message is written as one `.eml` file (created when missing) */
  readonly dir: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
}

export interface CaptureServer {
  readonly port: number;
  /** `smtp://host:port`, ready for SmtpMailer */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The embedded host's outbound relay: accepts every message and keeps its exact bytes as an `.eml` file,
 * durably on disk before the 250, so a message the sender saw accepted is never lost.
 */
export async function startCaptureServer(opts: CaptureServerOptions): Promise<CaptureServer> {
  const host = opts.host ?? '127.0.0.1';
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  let seq = 0;
  const directory = directorySync(() => open(opts.dir, 'r'));

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    // a reverse lookup of the client costs a DNS round trip (up to 1.5 s) per connection for nothing.
    // The other ~100 ms before each greeting is hard-coded in smtp-server (SMTPConnection.init), no option
    // removes it: senders should pool connections
    disableReverseLookup: true,
    // close() cuts idle connections at once; this bounds the wait for one that is mid-message
    closeTimeout: 5_000,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      // a stream error may still be followed by 'end': answer once
      let answered = false;
      const answer: typeof callback = (...args) => {
        if (answered) return;
        answered = true;
        callback(...args);
      };
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err) => answer(err));
      stream.on('end', () => {
        if (answered) return;
        const bytes = Buffer.concat(chunks);
        seq += 1;
        store(opts.dir, directory, bytes, seq).then(
          (name) => answer(null, `OK: queued as ${name}`),
          () => answer(Object.assign(new Error('could not store the message, try again later'), { responseCode: 451 })),
        );
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `smtp://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: async () => {
      await closeServer(server);
      await directory.close();
    },
  };
}

/** Writes one message under a name that sorts by arrival; temp file, fsync, rename, fsync of the directory. */
async function store(dir: string, directory: DirectorySync, bytes: Buffer, seq: number): Promise<string> {
  const stamp = new Date().toISOString().replace(/:/g, '-');
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 8);
  const name = `${stamp}-${String(seq).padStart(6, '0')}-${digest}.eml`;
  // a leading dot and another suffix keep a half-written file out of every `*.eml` listing
  const temp = join(dir, `.${name}.tmp`);
  // a notice is for its recipient: nobody else on this machine reads the outbox
  const file = await open(temp, 'wx', 0o600);
  try {
    await file.writeFile(bytes);
    await file.sync();
  } catch (err) {
    await file.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await file.close();
  await rename(temp, join(dir, name));
  await directory.sync();
  return name;
}

export interface DirectorySync {
  /** resolves once a sync of the directory that started after this call has ended */
  sync(): Promise<void>;
  /** closes the directory once the syncs under way have ended */
  close(): Promise<void>;
}

/**
 * The directory's fsync, shared (a group commit): a rename is durable once a sync of its directory that started
 * after it has ended. The messages a pool's connections bring together share one sync, on a handle kept open,
 * where each cost an open, a sync and a close: three trips to libuv's threads, which on a busy machine each cost
 * the event loop a wake-up. `openDirectory` opens the directory (read-only), again after a sync that failed.
 */
export function directorySync(openDirectory: () => Promise<Pick<FileHandle, 'sync' | 'close'>>): DirectorySync {
  let handle: Promise<Pick<FileHandle, 'sync' | 'close'>> | undefined;
  // the sync under way, and the one every caller since it started waits for
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  // a message still being stored after close (a connection cut after closeTimeout) syncs on a handle of its own
  let closed = false;
  const once = async (): Promise<void> => {
    const opening = closed ? openDirectory() : (handle ??= openDirectory());
    try {
      await (await opening).sync();
    } catch (err) {
      // a handle that failed is opened again next time
      if (handle === opening) handle = undefined;
      await opening.then((h) => h.close()).catch(() => undefined);
      throw err;
    }
    if (opening !== handle) await (await opening).close();
  };
  const sync = (): Promise<void> => {
    if (!running) {
      running = once().finally(() => (running = undefined));
      return running;
    }
    // the sync under way may have started before the caller's rename: it waits for the next one
    next ??= running
      .catch(() => undefined)
      .then(() => {
        next = undefined;
        return sync();
      });
    return next;
  };
  return {
    sync,
    async close() {
      while (running || next) await (next ?? running)!.catch(() => undefined);
      closed = true;
      await (await handle?.catch(() => undefined))?.close();
      handle = undefined;
    },
  };
}

/** Resolves once the server has stopped; idle pooled client connections are cut at once rather than after 30 s. */
export function closeServer(server: SMTPServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const connection of server.connections) {
      if (!connection._dataStream) connection.close();
    }
  });
}
