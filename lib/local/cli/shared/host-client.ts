import type { Host, HostConfig, StartOptions } from '../../host.js';
import type { HostInfo } from '../../host-files.js';
import { localKeyFile, readLocalKey } from '../../keys.js';
import { UsageError } from './options.js';

/**
 * How a command reaches a host: through the API of the host already serving the data directory, or through an
 * embedded host it starts for itself when none is.
 */

/**
 * The embedded host's module, loaded by the actions that need it: it brings the HTTP and SMTP servers, the
 * workflow engine and the mail stack, which `--help` and the commands that only read a file should not wait for.
 */
export function loadHost(): Promise<typeof import('../../host.js')> {
  return import('../../host.js');
}

/** Headers for a request to the running host of a data directory: JSON, and its local coordinator key. */
export function hostHeaders(dataDir: string): Record<string, string> {
  const key = readLocalKey(dataDir);
  if (!key) throw new Error(`the running host left no API key in ${localKeyFile(dataDir)}; restart it (takedown serve) to make one`);
  return { 'content-type': 'application/json', authorization: `Bearer ${key}` };
}

/** The host's refusal as one line, with what to do when the refusal says it (force, a missing item). */
function refusal(status: number, json: { error?: { code?: string; message?: string; issues?: { where: string; reason: string }[] } }, fallback: string): UsageError {
  const e = json.error;
  const issues = e?.issues?.length ? ` (${e.issues.map((i) => `${i.where}: ${i.reason}`).join('; ')})` : '';
  const hint = e?.code === 'CONTROL.NEEDS_FORCE' ? '; give --force to do it anyway' : '';
  return new UsageError(`the host answered ${status}: ${e?.message ?? fallback}${issues}${hint}`);
}

/** POST a JSON body to the running host; its refusal becomes a usage error with the host's message. */
export async function postJson(url: string, body: unknown, dataDir: string): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: hostHeaders(dataDir), body: JSON.stringify(body) });
  const json = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  if (!res.ok) throw refusal(res.status, json, res.statusText);
  return json;
}

/** GET JSON from the running host with its local key; a refusal becomes a usage error with the host's message. */
export async function getJson<T>(url: string, dataDir: string): Promise<T> {
  return (await getJsonOr(url, dataDir, false)) as T;
}

/** As getJson, but undefined where the host answers 404 (a route a host of an earlier version does not have). */
export async function getJsonIfFound<T>(url: string, dataDir: string): Promise<T | undefined> {
  return getJsonOr<T>(url, dataDir, true);
}

async function getJsonOr<T>(url: string, dataDir: string, missingIsUndefined: boolean): Promise<T | undefined> {
  const res = await fetch(url, { headers: hostHeaders(dataDir) });
  const json = (await res.json().catch(() => ({}))) as T & { error?: { code?: string; message?: string } };
  if (res.status === 404 && missingIsUndefined) return undefined;
  if (!res.ok) throw refusal(res.status, json, res.statusText);
  return json;
}

/**
 * The host serving a data directory, if one is: a host still starting (lock taken, API not up yet) is waited for,
 * up to `waitMs`, with one line to say so, rather than refused.
 */
export async function reachRunningHost(dataDir: string, waitMs = 30_000): Promise<HostInfo | undefined> {
  // the light module: a command that goes through the API never loads the host itself
  const { runningHost } = await import('../../host-files.js');
  const until = Date.now() + waitMs;
  let told = false;
  for (;;) {
    const running = runningHost(dataDir);
    if (!running || running.httpUrl) return running;
    if (Date.now() >= until) throw new UsageError(`the takedown host (pid ${running.pid}) serving ${dataDir} is still starting; try again in a moment`);
    if (!told) process.stderr.write(`waiting for the takedown host (pid ${running.pid}) to finish starting ...\n`);
    told = true;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Run a command's change on a passive host while no host serves the data directory: the change is recorded and
 * nothing runs or is sent (the next `takedown serve` acts on it), through the settings the data directory keeps.
 * Waits briefly for another command holding the directory.
 */
export async function withCommandHost<T>(config: HostConfig, fn: (host: Host) => Promise<T>): Promise<T> {
  const { startHost } = await loadHost();
  const host = await startHost(config, {
    passive: true,
    lockWaitMs: 30_000,
    onLockWait: (pid) => process.stderr.write(`waiting for another takedown process (pid ${pid}) using ${config.dataDir ?? '.takedown'} ...\n`),
  });
  try {
    return await fn(host);
  } finally {
    await host.close();
  }
}

/** What a passive host's command says about what it did not do. */
export const RECORDED_ONLY = 'recorded; no host is serving this data directory, so nothing was sent: `takedown serve` acts on it';

/** Run `fn` on an embedded host started for it and closed after; refused while another host serves the data. */
export async function withHost<T>(config: HostConfig, fn: (host: Host) => Promise<T>, listen = false, options: Omit<StartOptions, 'listen'> = {}): Promise<T> {
  const { runningHost, startHost } = await loadHost();
  const dataDir = config.dataDir ?? '.takedown';
  const running = runningHost(dataDir);
  if (running) {
    throw new UsageError(
      `a takedown host (pid ${running.pid}) is serving ${dataDir} at ${running.httpUrl}; this command needs the data directory to itself: stop the host first, or use its API`,
    );
  }
  const host = await startHost(config, { ...options, listen });
  try {
    return await fn(host);
  } finally {
    await host.close();
  }
}
