import { statSync } from 'node:fs';
import type { TextSource } from '../../../core/intake/index.js';
import type { PartyResolver } from '../../../core/ports.js';
import { Progress, progressFrom } from './terminal.js';

/**
 * Progress for the long parts of `run`: reading the file (twice: intake checks it whole, then stores it) and
 * routing its indicators. Small files and campaigns show nothing; a bar on a terminal, plain lines otherwise.
 */

// below this a file is read in a blink
const FILE_PROGRESS_FROM = 1 << 20;

/** The file's source, with a bar per reading of it (check, then store) when it is large. */
export function intakeProgress(source: TextSource, file: string): TextSource {
  let size = 0;
  try {
    size = statSync(file).size;
  } catch {
    return source;
  }
  if (size < FILE_PROGRESS_FROM) return source;
  let reading = 0;
  const mb = (n: number) => `${(n / (1 << 20)).toFixed(1)} MB`;
  return {
    async *chunks() {
      reading++;
      const bar = new Progress(reading === 1 ? 'checking the file' : 'storing indicators');
      let done = 0;
      for await (const chunk of source.chunks()) {
        done += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
        bar.update(Math.min(done, size), size, `${mb(done)} of ${mb(size)}`);
        yield chunk;
      }
      bar.finish();
    },
  };
}

/** A resolver decorator that counts routed indicators against the campaign's total (known once it is stored). */
export function routingProgress(): { resolver: (r: PartyResolver) => PartyResolver; total(n: number): void; finish(): void } {
  const bar = progressFrom('routing', 'indicators');
  let total = 0;
  let done = 0;
  return {
    resolver: (r) => ({
      async resolve(indicators) {
        const found = await r.resolve(indicators);
        done += indicators.length;
        if (total) bar.update(Math.min(done, total), total);
        return found;
      },
    }),
    total(n) {
      total = n;
    },
    finish() {
      bar.finish();
    },
  };
}
