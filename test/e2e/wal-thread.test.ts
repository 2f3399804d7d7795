import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHost, type Host } from '../../lib/local/host.js';
import { stubResolver } from '../support/mail-dns.js';
import { submit, waitFor } from '../workflows/support.js';

/*
 * A running host copies its SQLite logs back into the files on a thread of its own (WalCheckpoints). Neither file's
 * own connection checkpoints this early (the database's at 50,000 pages of log, the messages' at 10,000: ~200 and ~40 MB):
 * what reaches the files here was copied by the thread.
 */

let host: Host | undefined;
let dir: string | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const size = (file: string) => statSync(file).size;

describe('a running host', () => {
  it('copies both logs back into their files while it writes, not in a commit', async () => {
    dir = mkdtempSync(join(tmpdir(), 'takedown-wal-host-'));
    const dataDir = join(dir, 'data');
    // warnings shown: a thread that fails to start says so there
    host = await startHost({ dataDir, timeScale: 1, httpPort: 0, smtpPort: 0, logLevel: 'warn', probes: 'off' }, { listen: true, mailAuthResolver: stubResolver({}) });
    const database = join(dataDir, 'takedown.db');
    const messages = join(dataDir, 'messages', 'messages.db');
    // measured once the host is up: the thread may already have copied what its start wrote
    const before = { database: size(database), messages: size(messages) };

    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server', '192.0.2.11,ip,KE,C2 server']);
    await waitFor('the notice sent', async () => ((await host!.store.listNotices({ campaignId })).items[0]?.state === 'sent' ? true : undefined));
    // 2 MB into each file: a twentieth of what the messages' connection lets into its log before it copies by itself,
    // a hundredth of the database's
    for (let i = 0; i < 50; i++) {
      await host.deps.messages.put(`n0123456789abcdef.notice.0/m${i}/p1.eml`, `part ${i}\r\n`.repeat(4_000));
      await host.store.putRecord({ kind: 'wal-test', key: `r${i}`, value: JSON.stringify({ filler: `record ${i} `.repeat(3_500) }), version: 1 });
    }

    await waitFor('the database file written', () => size(database) > before.database + 1024 * 1024);
    await waitFor('the messages file written', () => size(messages) > before.messages + 1024 * 1024);
    expect(await host.deps.messages.get('n0123456789abcdef.notice.0/m49/p1.eml')).toBe(`part 49\r\n`.repeat(4_000));
    expect((await host.store.getRecord('wal-test', 'r49'))?.value).toContain('record 49');
  });
});
