import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Campaign, Case, Notice } from '../../lib/core/model.js';
import { readLocalKey } from '../../lib/local/keys.js';

/** The repository root, where `bin/takedown.mjs` and `examples/` live. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Resolves after `ms` real milliseconds. */
/** The environment minus anything that would point the CLI elsewhere (a real relay, another directory). */
export function cleanEnv(): NodeJS.ProcessEnv {
  // probes off: a test's indicators are documentation addresses, and a probe of one would leave this machine
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAKEDOWN_') && k !== 'SMTP_URL')), TAKEDOWN_PROBES: 'off' };
}

/** Runs `takedown <args>` as a user would, to its end; `env` adds variables (credentials) to the clean environment. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/takedown.mjs'), ...args], { cwd: REPO_ROOT, env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// every child started, so a failing test still leaves no host running
const children = new Set<ChildProcess>();
const dataDirs = new Set<string>();

/** A fresh, empty data directory under the OS temp dir; `removeDataDirs` deletes every one made. */
export function makeDataDir(prefix = 'takedown-e2e-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dataDirs.add(dir);
  return dir;
}

/** Deletes every data directory `makeDataDir` made (call it after the hosts are dead). */
export function removeDataDirs(): void {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  dataDirs.clear();
}

export interface ServeOptions {
  readonly dataDir: string;
  /** domain seconds per real second */
  readonly timeScale: number;
  /** how long the host may take to publish host.json @default 20_000 */
  readonly startTimeoutMs?: number;
}

/** A `takedown serve` child process that has published its address. */
export interface ServedHost {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly dataDir: string;
  /** http://127.0.0.1:port of its API */
  readonly httpUrl: string;
  /** what it wrote to stderr so far, for failure messages */
  stderr(): string;
  /** what it wrote to stdout so far (its summary: addresses, the sign-in link) */
  stdout(): string;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Start `node bin/takedown.mjs serve` on free loopback ports and wait until it has written host.json with its
 * own pid (a host killed earlier leaves its host.json behind, so the pid tells a fresh file from a stale one).
 * The host resumes open notices after it publishes host.json: this does not wait for that.
 */
export async function startServe(opts: ServeOptions): Promise<ServedHost> {
  const args = [
    join(REPO_ROOT, 'bin/takedown.mjs'),
    'serve',
    '--data-dir', opts.dataDir,
    '--http-port', '0',
    '--smtp-port', '0',
    '--time-scale', String(opts.timeScale),
    '--log-level', 'warn',
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    err = (err + s).slice(-8000);
  });
  // kept (the start's summary) and drained, so a chatty child never blocks on a full pipe
  let said = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    said = (said + s).slice(-8000);
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn the takedown host');
  children.add(child);

  try {
    return await published(child, pid, opts, () => err, () => said);
  } catch (e) {
    await killChild(child);
    throw e;
  }
}

async function published(child: ChildProcess, pid: number, opts: ServeOptions, stderr: () => string, stdout: () => string): Promise<ServedHost> {
  const infoFile = join(opts.dataDir, 'host.json');
  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  for (;;) {
    const err = stderr();
    if (exited(child)) throw new Error(`the takedown host exited before it served (code ${child.exitCode}, signal ${child.signalCode}): ${err.slice(-2000)}`);
    if (existsSync(infoFile)) {
      try {
        const info = JSON.parse(readFileSync(infoFile, 'utf8')) as { pid?: number; httpUrl?: string };
        if (info.pid === pid && info.httpUrl) {
          if (!info.httpUrl.startsWith('http://127.0.0.1:')) throw new Error(`the host listens beyond loopback: ${info.httpUrl}`);
          return { child, pid, dataDir: opts.dataDir, httpUrl: info.httpUrl, stderr, stdout };
        }
      } catch (e) {
        if (!(e instanceof SyntaxError)) throw e;
      }
    }
    if (Date.now() > deadline) throw new Error(`the takedown host did not publish host.json in time: ${err.slice(-2000)}`);
    await sleep(25);
  }
}

/** Kill a host the hard way (no shutdown code runs, as in a crash) and wait until the process is gone. */
export async function killHard(host: ServedHost): Promise<void> {
  await killChild(host.child);
}

async function killChild(child: ChildProcess): Promise<void> {
  children.delete(child);
  if (exited(child)) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await gone;
}

/** SIGKILL every host `startServe` started that is still running; for afterEach/afterAll. */
export async function killAllHosts(): Promise<void> {
  await Promise.all([...children].map((c) => killChild(c)));
}

/** A JSON request to a host's API with the host's local coordinator key (as the CLI sends it); the body is parsed whatever the status. */
export async function api<T = unknown>(host: ServedHost, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(host.httpUrl + path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${readLocalKey(host.dataDir)}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** What GET /campaigns/:id answers. */
export interface CampaignView {
  readonly campaign: Campaign;
  readonly cases: Partial<Record<Case['state'], number>>;
  readonly notices: Omit<Notice, 'taskToken' | 'tokenHash'>[];
}

/** GET /campaigns/:id, failing on anything but 200. */
export async function getCampaign(host: ServedHost, id: string): Promise<CampaignView> {
  const res = await api<CampaignView>(host, `/campaigns/${id}`);
  if (res.status !== 200) throw new Error(`GET /campaigns/${id} answered ${res.status}`);
  return res.body;
}

/**
 * Poll until `probe` returns a truthy value and return it. A probe that throws counts as "not yet" (a host
 * still starting); the last error is in the timeout message.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, timeoutMs: number, what = 'the condition', intervalMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}

/** One message the embedded outbox captured. */
export interface OutboxMessage {
  readonly file: string;
  /** when the capture server wrote it (real time, ms) */
  readonly mtimeMs: number;
  readonly raw: Buffer;
  /** unfolded header values by lower-case name (the first of each) */
  readonly headers: ReadonlyMap<string, string>;
}

function parseHeaders(raw: Buffer): Map<string, string> {
  const text = raw.toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  const head = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return headers;
}

/** Every complete message in <dataDir>/outbox (half-written files are dot-files and not listed). */
export function outboxMessages(dataDir: string): OutboxMessage[] {
  const dir = join(dataDir, 'outbox');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.eml') && !name.startsWith('.'))
    .sort()
    .map((name) => {
      const file = join(dir, name);
      const raw = readFileSync(file);
      return { file, mtimeMs: statSync(file).mtimeMs, raw, headers: parseHeaders(raw) };
    });
}

/** How many messages the outbox holds. */
export function outboxCount(dataDir: string): number {
  const dir = join(dataDir, 'outbox');
  return existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.eml') && !name.startsWith('.')).length : 0;
}

/** The domain-to-real time mapping the host stored in clock.json at its last start. */
export function readClock(dataDir: string): { anchorReal: number; anchorDomain: number; scale: number; realOf(domain: string | number): number } {
  const c = JSON.parse(readFileSync(join(dataDir, 'clock.json'), 'utf8')) as { anchorReal: number; anchorDomain: number; scale: number };
  return {
    ...c,
    realOf: (domain) => c.anchorReal + ((typeof domain === 'number' ? domain : Date.parse(domain)) - c.anchorDomain) / c.scale,
  };
}
