import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Deps } from '../core/ports.js';
import { configuredFeeds, parseFeedsConfig, type ConfiguredFeed, type FeedsConfig } from '../adapters/feeds/config.js';
import { pollFeeds, type FeedPollOutcome } from '../adapters/feeds/scheduler-handler.js';

/**
 * `takedown watch` on the embedded host: the feeds of a YAML file, polled every `interval` seconds (real time)
 * until stopped. Each poll is the core's (feeds/feeds.ts): new and not already open becomes a campaign, which
 * waits for approval unless its feed is trusted; each feed's position is in the store, so a restart goes on.
 */

/** The watch's configuration and its feeds, from a YAML (or JSON) file; CA files are relative to it. */
export function loadFeeds(file: string, env: NodeJS.ProcessEnv = process.env): { config: FeedsConfig; feeds: ConfiguredFeed[] } {
  const config = parseFeedsConfig(parseYaml(readFileSync(file, 'utf8')) as unknown);
  const base = dirname(resolve(file));
  return { config, feeds: configuredFeeds(config, env, (path) => readFileSync(resolve(base, path), 'utf8')) };
}

/**
 * Polls every feed now and then every `intervalMs` until `signal` aborts; `onPoll` hears each round. A round that
 * fails for one feed goes on with the others, and the next round tries it again.
 */
export async function watchFeeds(deps: Deps, feeds: readonly ConfiguredFeed[], intervalMs: number, signal: AbortSignal, onPoll: (outcome: FeedPollOutcome) => void): Promise<void> {
  while (!signal.aborted) {
    onPoll(await pollFeeds(deps, feeds));
    await new Promise<void>((done) => {
      const timer = setTimeout(done, intervalMs);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        done();
      }, { once: true });
    });
  }
}
