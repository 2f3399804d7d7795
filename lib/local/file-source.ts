import { createReadStream } from 'node:fs';
import type { TextSource } from '../core/intake/index.js';

/** A file on disk as intake reads it: from its start, 64 KB at a time, as often as intake asks. */
export function fileSource(path: string): TextSource {
  return { chunks: () => createReadStream(path, { highWaterMark: 1 << 16 }) };
}
