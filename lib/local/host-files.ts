import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ScaledClock } from '../adapters/runtime/clock.js';

/**
 * Where a data directory keeps what, and whether a host serves it: what every command needs before it knows
 * whether to load the host itself (host.ts brings the servers, the engine and the mail stack).
 */

export interface HostFiles {
  readonly dataDir: string;
  readonly database: string;
  readonly outbox: string;
  readonly inbox: string;
  readonly clock: string;
  readonly lock: string;
  readonly hostInfo: string;
  /** the key that seals recipients' webhook secrets (mode 0600) */
  readonly secretKey: string;
  /**
   * the messages we send, in `messages.db` there (the exact bytes until sent, then a copy with its tokens masked);
   * an earlier version kept a file per part in this folder
   */
  readonly messages: string;
  /** the private key notices are DKIM-signed with, when a selector is configured (mode 0600) */
  readonly dkimKey: string;
  /** the key that MACs every audit event and checkpoint (mode 0600); never in the database */
  readonly auditKey: string;
  /** the append-only log of the audit trail's chain heads */
  readonly checkpoints: string;
}

/** The paths of a data directory's files. */
export function hostFiles(dataDir: string): HostFiles {
  const dir = resolve(dataDir);
  return {
    dataDir: dir,
    database: join(dir, 'takedown.db'),
    outbox: join(dir, 'outbox'),
    inbox: join(dir, 'inbox'),
    clock: join(dir, 'clock.json'),
    lock: join(dir, 'host.lock'),
    hostInfo: join(dir, 'host.json'),
    secretKey: join(dir, 'secret.key'),
    messages: join(dir, 'messages'),
    dkimKey: join(dir, 'dkim.key'),
    auditKey: join(dir, 'audit.key'),
    checkpoints: join(dir, 'audit-checkpoints.jsonl'),
  };
}

/** What a running host publishes for the CLI: where to reach it. */
export const HostInfo = z.object({
  pid: z.number(),
  /** starting: the lock is taken, the API not up yet (a command waits for it); ready: reachable at httpUrl */
  state: z.enum(['starting', 'ready']).optional(),
  httpUrl: z.string().optional(),
  smtpPort: z.number().optional(),
  startedAt: z.string(),
});
export type HostInfo = z.infer<typeof HostInfo>;

/** Whether a process is alive (one of another user's counts). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running host of a data directory, if there is one (its process alive). */
export function runningHost(dataDir: string): HostInfo | undefined {
  const files = hostFiles(dataDir);
  if (!existsSync(files.hostInfo)) return undefined;
  const info = HostInfo.safeParse(JSON.parse(readFileSync(files.hostInfo, 'utf8')));
  return info.success && alive(info.data.pid) && info.data.pid !== process.pid ? info.data : undefined;
}


/** The domain clock of a data directory as its host left it, without moving its anchor (for commands that only read and record). */
export function storedClock(dataDir: string): ScaledClock {
  const files = hostFiles(dataDir);
  if (!existsSync(files.clock)) return new ScaledClock();
  const old = z.object({ anchorReal: z.number(), anchorDomain: z.number(), scale: z.number() }).safeParse(JSON.parse(readFileSync(files.clock, 'utf8')));
  return old.success ? new ScaledClock(old.data) : new ScaledClock();
}
