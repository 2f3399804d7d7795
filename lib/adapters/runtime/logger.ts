import type { Logger } from '../../core/ports.js';

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** One JSON line per entry on stderr (CloudWatch and a terminal both read it); fields must hold no secrets. */
export class JsonLogger implements Logger {
  constructor(
    private readonly level: Level = 'info',
    private readonly write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
  ) {}

  private emit(level: Level, message: string, fields?: Record<string, unknown>): void {
    if (ORDER[level] < ORDER[this.level]) return;
    this.write(JSON.stringify({ level, at: new Date().toISOString(), message, ...fields }));
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.emit('info', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.emit('warn', message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.emit('error', message, fields);
  }
}

/** A logger that drops everything: for the CLI's quiet paths and for tests. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
