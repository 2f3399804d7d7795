import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The chaos run's processes: `takedown serve` started, SIGKILLed and started again, and the CLI commands a
 * coordinator types. Every process gets an environment without TAKEDOWN_* or SMTP_URL: what they know of the
 * relay, the clock and the directory they read from the data directory's settings, as any process on an operator's
 * machine would.
 */

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO_ROOT, 'bin/takedown.mjs');

/** The environment minus anything that would point a process elsewhere than the data directory's settings. */
export function bareEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAKEDOWN_') && k !== 'SMTP_URL'));
}

export interface Serve {
  readonly child: ChildProcess;
  readonly pid: number;
  /** resolves when the process is gone */
  readonly exited: Promise<void>;
}

/** Starts `takedown serve` on the data directory and waits until it published its address (host.json, ready). */
export async function startServe(dataDir: string, log: WriteStream, timeoutMs = 60_000): Promise<Serve> {
  const child = spawn(process.execPath, [CLI, 'serve', '--data-dir', dataDir, '--log-level', 'warn'], { cwd: REPO_ROOT, env: bareEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn takedown serve');
  child.stdout!.resume();
  child.stderr!.on('data', (chunk: Buffer) => log.write(chunk));
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`takedown serve exited before it served (code ${child.exitCode}); see serve.log`);
    const info = hostInfo(dataDir);
    if (info?.pid === pid && info.httpUrl) return { child, pid, exited };
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error('takedown serve did not publish its address in time; see serve.log');
    }
    await sleep(50);
  }
}

function hostInfo(dataDir: string): { pid?: number; httpUrl?: string } | undefined {
  const file = join(dataDir, 'host.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { pid?: number; httpUrl?: string };
  } catch {
    return undefined;
  }
}

/** SIGKILL: no shutdown code runs, as in a crash or the OOM killer. */
export async function killHard(serve: Serve): Promise<void> {
  if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill('SIGKILL');
  await serve.exited;
}

/** SIGTERM: the host stops as an operator stops it, recording what it interrupted. */
export async function stopGently(serve: Serve, timeoutMs = 60_000): Promise<void> {
  if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill('SIGTERM');
  const timer = setTimeout(() => serve.child.kill('SIGKILL'), timeoutMs);
  await serve.exited;
  clearTimeout(timer);
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** SIGKILLed after its time ran out */
  readonly killed: boolean;
}

/** Runs `takedown <args>` as a coordinator would, to its end (or SIGKILLs it after `timeoutMs`). */
export function runCli(args: readonly string[], timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: bareEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-20_000)));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, killed });
    });
  });
}

export function openLog(file: string): WriteStream {
  return createWriteStream(file, { flags: 'a' });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
