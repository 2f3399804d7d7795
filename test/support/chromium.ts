import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's Chromium, which the browser tests drive through playwright-core (it downloads no browser). */
export const CHROMIUM = '/usr/bin/chromium';

/** The flags the browser tests launch it with: headless, no sandbox (root in a container), nothing phoning home. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

function run(command: string, args: string[]): { ok: boolean; output: string } {
  const res = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 15 * 60_000 });
  return { ok: res.status === 0, output: `${res.stdout ?? ''}${res.stderr ?? ''}`.slice(-2000) };
}

/**
 * Make sure Chromium is there, so the README's test command passes on a fresh machine: installed with apt when
 * missing and the tests run as root; otherwise a clear message of what to run.
 */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  if (process.getuid?.() !== 0) {
    throw new Error(`the dashboard test needs Chromium at ${CHROMIUM}: run "sudo apt-get install -y chromium" (or run the tests as root to have it installed)`);
  }
  let install = run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium']);
  if (!install.ok) {
    // a fresh container has no package lists yet
    run('apt-get', ['update']);
    install = run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium']);
  }
  if (!install.ok || !existsSync(CHROMIUM)) throw new Error(`could not install Chromium with apt-get: ${install.output}`);
  return CHROMIUM;
}
