import { describe, expect, it } from 'vitest';
import type { MessageStore } from '../../lib/core/ports.js';

/** The contract every MessageStore adapter keeps: the exact bytes back, nothing for a key never written, idempotent deletes. */
export function messageStoreContract(name: string, make: () => Promise<MessageStore>): void {
  describe(`MessageStore contract: ${name}`, () => {
    it('gives back the exact bytes it was given, CRLFs and long lines included', async () => {
      const store = await make();
      const raw = `Message-ID: <n0123456789abcdef.notice.0@reply.example>\r\nSubject: =?UTF-8?Q?Op=C3=A9ration?=\r\n\r\n${'x'.repeat(70_000)}=\r\nend\r\n`;
      await store.put('n0123456789abcdef.notice.0/m1/p1.eml', raw);
      expect(await store.get('n0123456789abcdef.notice.0/m1/p1.eml')).toBe(raw);
    });

    it('has nothing under a key never written, and forgets a deleted one', async () => {
      const store = await make();
      expect(await store.get('n0123456789abcdef.notice.0/m9/p1.eml')).toBeUndefined();
      await store.put('n0123456789abcdef.notice.0/m2/p1.eml', 'a');
      await store.delete('n0123456789abcdef.notice.0/m2/p1.eml');
      await store.delete('n0123456789abcdef.notice.0/m2/p1.eml');
      expect(await store.get('n0123456789abcdef.notice.0/m2/p1.eml')).toBeUndefined();
    });

    it('replaces what a key held when written again', async () => {
      const store = await make();
      await store.put('n0123456789abcdef.reminder.1/m3/p2.eml', 'first');
      await store.put('n0123456789abcdef.reminder.1/m3/p2.eml', 'second');
      expect(await store.get('n0123456789abcdef.reminder.1/m3/p2.eml')).toBe('second');
    });
  });
}
