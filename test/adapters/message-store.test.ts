import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileMessageStore } from '../../lib/adapters/messages/messages.fs.js';
import { openMessageStore } from '../../lib/local/message-store.js';
import { messageStoreContract } from '../contract/message-store.contract.js';

const dirs: string[] = [];
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), 'takedown-messages-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

messageStoreContract('files in the data directory', async () => new FileMessageStore(fresh()));
messageStoreContract('a SQLite file in the data directory', async () => openMessageStore({ messages: join(fresh(), 'messages') }));

describe('SqliteMessageStore', () => {
  it('keeps the messages in a file readable by this user only, in a private folder, and finds them after a restart', async () => {
    const dir = join(fresh(), 'messages');
    const first = openMessageStore({ messages: dir });
    await first.put('n0123456789abcdef.notice.0/m1/p1.eml', 'exact bytes');
    first.close();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'messages.db')).mode & 0o777).toBe(0o600);

    const again = openMessageStore({ messages: dir });
    const read = await again.get('n0123456789abcdef.notice.0/m1/p1.eml');
    again.close();
    expect(read).toBe('exact bytes');
  });

  it.each(['../escape.eml', 'a/../../escape.eml', '/etc/passwd', 'a//b', '.hidden/x', 'a/b\\c'])('refuses the key %s, as the file store does', async (key) => {
    const store = openMessageStore({ messages: join(fresh(), 'messages') });
    await expect(store.put(key, 'x')).rejects.toThrow(/not a message key/);
    await expect(store.get(key)).rejects.toThrow(/not a message key/);
    await expect(store.delete(key)).rejects.toThrow(/not a message key/);
    store.close();
  });

  it('never looks beside the database for a key the core does not give a part', async () => {
    const dir = join(fresh(), 'messages');
    const store = openMessageStore({ messages: dir });
    await store.put('n0123456789abcdef.notice.0/m1/p1.eml', 'kept');
    expect(await store.get('messages.db')).toBeUndefined();
    await store.delete('messages.db');
    const still = await store.get('n0123456789abcdef.notice.0/m1/p1.eml');
    store.close();
    expect(still).toBe('kept');
    expect(statSync(join(dir, 'messages.db')).isFile()).toBe(true);
  });

  it('reads and removes the files an earlier version kept a part each, beside the database', async () => {
    const dir = join(fresh(), 'messages');
    const before = new FileMessageStore(dir);
    await before.put('n0123456789abcdef.notice.0/m1/p1.eml', 'exact bytes, kept before');
    await before.put('n0123456789abcdef.notice.0/m1/p1.masked.eml', 'masked copy, kept before');

    const store = openMessageStore({ messages: dir });
    const exact = await store.get('n0123456789abcdef.notice.0/m1/p1.eml');
    await store.put('n0123456789abcdef.notice.0/m1/p1.masked.eml', 'masked copy, now');
    const masked = await store.get('n0123456789abcdef.notice.0/m1/p1.masked.eml');
    await store.delete('n0123456789abcdef.notice.0/m1/p1.eml');
    const gone = await store.get('n0123456789abcdef.notice.0/m1/p1.eml');
    store.close();

    expect(exact).toBe('exact bytes, kept before');
    expect(masked).toBe('masked copy, now');
    expect(gone).toBeUndefined();
    expect(readdirSync(join(dir, 'n0123456789abcdef.notice.0', 'm1'))).toEqual(['p1.masked.eml']);
  });
  it('looks for no file beside the database of a data directory no earlier version kept files in', async () => {
    const dir = join(fresh(), 'messages');
    const store = openMessageStore({ messages: dir });
    // a file of the earlier shape that appears afterwards: nothing of this version writes one, so it is not looked for
    await new FileMessageStore(dir).put('n0123456789abcdef.notice.0/m1/p1.eml', 'not ours');
    const read = await store.get('n0123456789abcdef.notice.0/m1/p1.eml');
    await store.delete('n0123456789abcdef.notice.0/m1/p1.eml');
    store.close();
    expect(read).toBeUndefined();
    expect(readdirSync(join(dir, 'n0123456789abcdef.notice.0', 'm1'))).toEqual(['p1.eml']);
  });
});

describe('FileMessageStore', () => {
  it('keeps each message readable by this user only', async () => {
    const dir = fresh();
    const store = new FileMessageStore(join(dir, 'messages'));
    await store.put('n0123456789abcdef.notice.0/m1/p1.eml', 'bytes');
    expect(statSync(join(dir, 'messages')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'messages', 'n0123456789abcdef.notice.0', 'm1')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'messages', 'n0123456789abcdef.notice.0', 'm1', 'p1.eml')).mode & 0o777).toBe(0o600);
    // written whole through a temporary file that is gone afterwards
    expect(readdirSync(join(dir, 'messages', 'n0123456789abcdef.notice.0', 'm1'))).toEqual(['p1.eml']);
  });

  it('writes a message again into a folder removed behind its back, private as before', async () => {
    const dir = fresh();
    const store = new FileMessageStore(dir);
    await store.put('n0123456789abcdef.notice.0/m1/p1.eml', 'first');
    rmSync(join(dir, 'n0123456789abcdef.notice.0'), { recursive: true, force: true });

    await store.put('n0123456789abcdef.notice.0/m1/p1.masked.eml', 'second');

    expect(await store.get('n0123456789abcdef.notice.0/m1/p1.masked.eml')).toBe('second');
    expect(statSync(join(dir, 'n0123456789abcdef.notice.0', 'm1')).mode & 0o777).toBe(0o700);
  });

  it.each(['../escape.eml', 'a/../../escape.eml', '/etc/passwd', 'a//b', '.hidden/x', 'a/b\\c'])('refuses the key %s, which would name a file outside its folder', async (key) => {
    const store = new FileMessageStore(fresh());
    await expect(store.put(key, 'x')).rejects.toThrow(/not a message key/);
    await expect(store.get(key)).rejects.toThrow(/not a message key/);
  });
});
