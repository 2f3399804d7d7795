import { afterEach, describe, expect, it, vi } from 'vitest';
import { PinoLogger } from '../../lib/adapters/runtime/logger.js';
import { PowertoolsLogger } from '../../lib/adapters/runtime/logger.powertools.js';
import { logFields, REDACTED } from '../../lib/adapters/runtime/log-fields.js';

/*
 * Both hosts' loggers behind the Logger port: pino on the embedded host, Powertools Logger on Lambda. The same call
 * must give the same keys on both, and no secret, token, key or message body at any level.
 */

const API_KEY = `tkd_${'k'.repeat(43)}`;
const SECRETS = {
  token: 'reply-token-0123456789',
  taskToken: 'AAAAKgAAAAIAAAAAAAAAA-task-token',
  apiKey: 'misp-key-40-chars-long-0000000000000000',
  authorization: 'Basic dXNlcjpwYXNzd29yZA==',
  body: 'Dear abuse desk, the body of the notice',
  raw: 'Received: from mx.example\r\n\r\nthe raw bytes',
  nested: { secret: 'webhook-secret-xyz', text: 'a reply body', fine: 'kept' },
  header: `Bearer ${API_KEY}`,
  quoted: `the key ${API_KEY} was pasted here`,
};

function pinoLines(call: (log: PinoLogger) => void): Record<string, unknown>[] {
  const lines: string[] = [];
  call(new PinoLogger('info', (line) => lines.push(line)));
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

function powertoolsLines(call: (log: PowertoolsLogger) => void): Record<string, unknown>[] {
  const written: string[] = [];
  // Powertools writes through its own Console over stdout (info) and stderr (warn, error), made with the logger
  const capture = (chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  };
  const spies = [vi.spyOn(process.stdout, 'write').mockImplementation(capture), vi.spyOn(process.stderr, 'write').mockImplementation(capture)];
  try {
    call(new PowertoolsLogger('info'));
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return written.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

afterEach(() => vi.restoreAllMocks());

describe('the loggers of both hosts', () => {
  it('write the same keys for the same call: level, message, service and the ids under their shared names', () => {
    const fields = { campaignId: 'cmp_0123456789abcdef', noticeId: 'n0123456789abcdef', caseId: 'c0123456789abcdef', intent: 'actioned' };
    const [p] = pinoLines((log) => log.info('answer applied', fields));
    const [w] = powertoolsLines((log) => log.info('answer applied', fields));
    for (const line of [p!, w!]) {
      expect(line).toMatchObject({ level: 'INFO', message: 'answer applied', service: 'takedown', campaign: 'cmp_0123456789abcdef', notice: 'n0123456789abcdef', case: 'c0123456789abcdef', intent: 'actioned' });
      expect(typeof line.timestamp).toBe('string');
      expect(line).not.toHaveProperty('campaignId');
    }
    const shared = ['level', 'message', 'service', 'timestamp', 'campaign', 'notice', 'case', 'intent'];
    expect(shared.filter((k) => k in p!)).toEqual(shared);
    expect(shared.filter((k) => k in w!)).toEqual(shared);
  });

  it('never write a secret, a token, a key or a message body, at info, warn or error, on either host', () => {
    const values = [SECRETS.token, SECRETS.taskToken, SECRETS.apiKey, 'dXNlcjpwYXNzd29yZA==', SECRETS.body, 'the raw bytes', 'webhook-secret-xyz', 'a reply body', API_KEY];
    const lines = [
      ...pinoLines((log) => {
        log.info('i', SECRETS);
        log.warn('w', SECRETS);
        log.error('e', SECRETS);
      }),
      ...powertoolsLines((log) => {
        log.info('i', SECRETS);
        log.warn('w', SECRETS);
        log.error('e', SECRETS);
      }),
    ];
    expect(lines).toHaveLength(6);
    for (const line of lines) {
      const text = JSON.stringify(line);
      for (const v of values) expect(text, `${line.message} leaked ${v}`).not.toContain(v);
      expect(line.token).toBe(REDACTED);
      expect((line.nested as Record<string, unknown>).fine).toBe('kept');
    }
  });

  it('redact by field name case-insensitively and by value whatever the field is called', () => {
    expect(logFields({ Authorization: 'x', MISP_API_KEY: 'y', replyTokenHash: 'z', note: `Bearer ${'a'.repeat(20)}` })).toEqual({
      Authorization: REDACTED,
      MISP_API_KEY: REDACTED,
      replyTokenHash: 'z',
      note: REDACTED,
    });
  });
});
