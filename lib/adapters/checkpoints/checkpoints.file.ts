import { existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { AlreadyExistsError } from '../../core/errors.js';
import type { CheckpointLog } from '../../core/ports.js';

/**
 * The embedded host's checkpoint log: one JSON record a line, only ever appended (O_APPEND, synced to disk
 * before the append returns), mode 0600. Its records form a hash chain and carry the audit key's MAC
 * (audit/checkpoints.ts), so a record cannot be altered, removed from the middle or forged without the key.
 * What a file cannot refuse is being cut off at its end by someone who can write the data directory: copy the
 * log elsewhere (or use the AWS host's Object Lock bucket) where that matters.
 */
export class FileCheckpointLog implements CheckpointLog {
  private count?: number;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly path: string) {}

  async readAll(): Promise<unknown[]> {
    if (!existsSync(this.path)) return [];
    const lines = (await readFile(this.path, 'utf8')).split('\n').filter((l) => l.trim() !== '');
    // a line that is not JSON stays in its place as text: the reader reports it as a broken record
    return lines.map((line) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        return line;
      }
    });
  }

  append(record: { readonly n: number } & Record<string, unknown>): Promise<void> {
    const run = this.queue.then(async () => {
      this.count ??= (await this.readAll()).length;
      if (record.n !== this.count + 1) throw new AlreadyExistsError('checkpoint', String(record.n));
      const file = await open(this.path, 'a', 0o600);
      try {
        await file.write(`${JSON.stringify(record)}\n`);
        await file.datasync();
      } finally {
        await file.close();
      }
      this.count += 1;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
