import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, type RelayLogLine } from '../../bench/chaos/relay.js';

/**
 * The chaos run's relay is the witness of what was delivered: a message it passed on must be in its log as
 * delivered whatever the client did meanwhile, or a duplicate the host explained (a kill mid-send, then an
 * uncertain hand-over resent) reads as unexplained.
 */
describe('the chaos relay', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('logs a message it passed on as delivered when the client vanished before hearing the 250', async () => {
    // Prepare: a relay that injects no fault, and a client that sends one message and is gone at once
    const dir = mkdtempSync(join(tmpdir(), 'takedown-relay-'));
    dirs.push(dir);
    const logFile = join(dir, 'relay.jsonl');
    const relay = await startRelay({ seed: 1, rate: 0, deliveredDir: join(dir, 'delivered'), logFile });
    try {
      const socket = connect(relay.port, '127.0.0.1');
      const lines = [
        'EHLO client.test',
        'MAIL FROM:<sender@reply.example>',
        'RCPT TO:<abuse@net1.example>',
        'DATA',
        'Message-ID: <vanishing@reply.example>\r\nSubject: x\r\n\r\nbody\r\n.',
      ];
      let sent = 0;
      await new Promise<void>((done, fail) => {
        socket.on('error', fail);
        socket.on('data', (chunk: Buffer) => {
          // one command per reply; after the message, the client dies without waiting for the 250
          if (sent < lines.length && /^(220|250|354)/m.test(chunk.toString())) socket.write(lines[sent++] + '\r\n');
          if (sent === lines.length) {
            socket.destroy();
            done();
          }
        });
      });

      // Act: wait for the relay to pass it on
      const deliveredDir = join(dir, 'delivered');
      for (let i = 0; i < 100 && !(existsSync(deliveredDir) && readdirSync(deliveredDir).some((f) => f.endsWith('.eml'))); i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 200));

      // Assess: delivered behind the relay, and logged so
      expect(readdirSync(deliveredDir).filter((f) => f.endsWith('.eml'))).toHaveLength(1);
      const log = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RelayLogLine);
      expect(log.filter((l) => l.messageId === '<vanishing@reply.example>')).toMatchObject([{ delivered: true }]);
      expect(log.filter((l) => l.aborted)).toHaveLength(0);
    } finally {
      await relay.close();
    }
  });
});
