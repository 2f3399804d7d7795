import { Logger as PowertoolsLoggerImpl } from '@aws-lambda-powertools/logger';
import type { Logger } from '../../core/ports.js';
import { logFields, SERVICE_NAME } from './log-fields.js';
import type { LogLevel } from './logger.js';

/**
 * The AWS host's Logger: Powertools for AWS Lambda, which adds the invocation's context (request id, cold start,
 * X-Ray trace id) to every record. The fields a command logs go through the same logFields as on the embedded
 * host, so both hosts write the same keys and neither writes a secret.
 */
export class PowertoolsLogger implements Logger {
  /** the Powertools logger itself, for `addContext(context)` at the start of an invocation */
  readonly powertools: PowertoolsLoggerImpl;

  constructor(level: LogLevel | 'silent' = 'info', powertools?: PowertoolsLoggerImpl) {
    this.powertools = powertools ?? new PowertoolsLoggerImpl({ serviceName: SERVICE_NAME, logLevel: level.toUpperCase() as 'INFO' });
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.powertools.info(message, logFields(fields));
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.powertools.warn(message, logFields(fields));
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.powertools.error(message, logFields(fields));
  }
}
