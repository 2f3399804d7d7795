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
  return new SqliteMessageStore(join(files.messages, 'messages.db'), earlier);
}
