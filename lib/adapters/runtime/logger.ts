import { pino, type DestinationStream, type Logger as Pino } from 'pino';
import type { Logger } from '../../core/ports.js';
import { logFields, REDACTED, SERVICE_NAME } from './log-fields.js';

/**
 * The embedded host's Logger: pino, one JSON line per record on stderr (synchronous, so a record written just
 * before the process exits is not lost). The records have the keys Powertools Logger writes on Lambda (`level`
 * in capitals, `message`, `timestamp`, `service`), so one query reads both hosts' logs.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

// a second line behind logFields: pino's own redaction of the paths a careless caller would use
const REDACT_PATHS = ['token', 'secret', 'password', 'apiKey', 'authorization', 'body', 'raw', 'text', 'html', '*.token', '*.secret', '*.password', '*.apiKey', '*.authorization', '*.body', '*.raw'];

/** A pino logger with the shared record shape, writing to `destination` (default: stderr). */
export function createPino(level: LogLevel | 'silent' = 'info', destination?: DestinationStream): Pino {
  return pino(
    {
      level,
      base: { service: SERVICE_NAME },
      messageKey: 'message',
      timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label.toUpperCase() }) },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** The Logger port over pino; `write` receives each line (without its newline) instead of stderr, for tests. */
export class PinoLogger implements Logger {
  private readonly pino: Pino;

  constructor(level: LogLevel | 'silent' = 'info', write?: (line: string) => void) {
    this.pino = createPino(level, write ? { write: (chunk: string) => write(chunk.replace(/\n$/, '')) } : undefined);
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.pino.info(logFields(fields), message);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.pino.warn(logFields(fields), message);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.pino.error(logFields(fields), message);
  }
}

/**
 * The name the AWS host's wiring (lib/adapters/aws/deps.ts) still uses: the same pino logger. Lambdas move to
 * `PowertoolsLogger` (logger.powertools.ts) when that wiring changes.
 * @deprecated use PinoLogger on the embedded host, PowertoolsLogger on Lambda
 */
export const JsonLogger = PinoLogger;

/** A logger that drops everything: for the CLI's quiet paths and for tests. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
