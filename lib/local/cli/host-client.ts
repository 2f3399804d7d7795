import type { Host, HostConfig, StartOptions } from '../host.js';
import { localKeyFile, readLocalKey } from '../keys.js';
import { UsageError } from './options.js';

/**
 * How a command reaches a host: through the API of the host already serving the data directory, or through an
 * embedded host it starts for itself when none is.
 */

/**
 * The embedded host's module, loaded by the actions that need it: it brings the HTTP and SMTP servers, the
 * workflow engine and the mail stack, which `--help` and the commands that only read a file should not wait for.
 */
export function loadHost(): Promise<typeof import('../host.js')> {
  return import('../host.js');
}

/** Headers for a request to the running host of a data directory: JSON, and its local coordinator key. */
export function hostHeaders(dataDir: string): Record<string, string> {
  const key = readLocalKey(dataDir);
  if (!key) throw new Error(`the running host left no API key in ${localKeyFile(dataDir)}; restart it (takedown serve) to make one`);
  return { 'content-type': 'application/json', authorization: `Bearer ${key}` };
}

/** POST a JSON body to the running host; its refusal becomes a usage error with the host's message. */
export async function postJson(url: string, body: unknown, dataDir: string): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: hostHeaders(dataDir), body: JSON.stringify(body) });
  const json = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!res.ok) throw new UsageError(`the host answered ${res.status}: ${json.error?.message ?? res.statusText}`);
  return json;
}

/** Run `fn` on an embedded host started for it and closed after; refused while another host serves the data. */
export async function withHost<T>(config: HostConfig, fn: (host: Host) => Promise<T>, listen = false, options: Omit<StartOptions, 'listen'> = {}): Promise<T> {
  const { runningHost, startHost } = await loadHost();
  const dataDir = config.dataDir ?? '.takedown';
  const running = runningHost(dataDir);
  if (running) {
    throw new UsageError(
      `a takedown host (pid ${running.pid}) is serving ${dataDir} at ${running.httpUrl}; use its API, or stop it first`,
    );
  }
  const host = await startHost(config, { ...options, listen });
  try {
    return await fn(host);
  } finally {
    await host.close();
  }
}
