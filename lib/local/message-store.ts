import { opendirSync } from 'node:fs';
import { join } from 'node:path';
import { FileMessageStore } from '../adapters/messages/messages.fs.js';
import { SqliteMessageStore } from '../adapters/messages/messages.sqlite.js';
import type { HostFiles } from './host-files.js';

/**
 * A data directory's messages: `messages/messages.db`, and the files a part each that an earlier version wrote in
 * the same folder, still read and removed where they are. Close it when done.
 */
export function openMessageStore(files: Pick<HostFiles, 'messages'>): SqliteMessageStore {
  // made first: it makes the private folder the database lives in
  const earlier = new FileMessageStore(files.messages);
  // looked at only where an earlier version left files (a folder per outbound): nothing writes them any more, and
  // each part sent asked for its file's removal, ~80 us of lstat and a thrown ENOENT on the event loop per notice
  return new SqliteMessageStore(join(files.messages, 'messages.db'), holdsFolder(files.messages) ? earlier : undefined);
}

/** Whether a folder holds a folder: read up to the first one, not the whole listing of a big data directory. */
function holdsFolder(path: string): boolean {
  const dir = opendirSync(path);
  try {
    for (let entry = dir.readSync(); entry; entry = dir.readSync()) if (entry.isDirectory()) return true;
    return false;
  } finally {
    dir.closeSync();
  }
}
