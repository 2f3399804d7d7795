/**
 * A submitted file as pieces of text, readable from its start as often as intake needs (it reads a large file
 * twice: once to check all of it, once to store it), so a 100 MB file is never held whole. The embedded host reads a
 * file from disk a chunk at a time; a request body already in memory is handed out in slices.
 */

/** A file's text, read from its start on each call to `chunks`; bytes are UTF-8. */
export interface TextSource {
  chunks(): AsyncIterable<string | Uint8Array>;
}

/** True for a TextSource (a request body never is one: JSON cannot carry a function). */
export function isTextSource(value: unknown): value is TextSource {
  return typeof value === 'object' && value !== null && typeof (value as { chunks?: unknown }).chunks === 'function';
}

/** Slices small enough that what one slice yields (indicators, store rows) stays small too. */
const SLICE = 1 << 16;

/** A text already in memory, handed out in slices. */
export function textSource(text: string, sliceChars = SLICE): TextSource {
  const size = Math.max(1, Math.floor(sliceChars));
  return {
    async *chunks() {
      for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
    },
  };
}

/**
 * The source's text, piece by piece. Bytes are decoded as a stream, so a character whose bytes are split across
 * two chunks comes out whole; bytes that are not UTF-8 become U+FFFD, as `readFileSync(file, 'utf8')` does.
 */
export async function* decodedChunks(source: TextSource): AsyncGenerator<string, void> {
  // ignoreBOM: the byte order mark stays, and the readers drop it where they always have (at the very start)
  let decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let bytes = false;
  for await (const chunk of source.chunks()) {
    if (typeof chunk === 'string') {
      if (chunk) yield chunk;
      continue;
    }
    if (!bytes && chunk.length >= 2) {
      // Excel's "Unicode text" (and some CSV exports) is UTF-16 with a byte order mark
      if (chunk[0] === 0xff && chunk[1] === 0xfe) decoder = new TextDecoder('utf-16le', { ignoreBOM: true });
      else if (chunk[0] === 0xfe && chunk[1] === 0xff) decoder = new TextDecoder('utf-16be', { ignoreBOM: true });
    }
    bytes = true;
    const text = decoder.decode(chunk, { stream: true });
    if (text) yield text;
  }
  if (bytes) {
    const tail = decoder.decode();
    if (tail) yield tail;
  }
}
