import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { FeedPollOutcome } from '../../../adapters/feeds/scheduler-handler.js';
import { summary, table } from '../shared/terminal.js';
import { loadHost } from '../shared/host-client.js';
import { waitForPlan, waitForSending } from '../campaign.js';
import { err, hostConfig, out, port, positiveNumber, UsageError, withHostOptions, type HostFlags } from '../shared/options.js';

/** `takedown watch`: poll MISP searches and TAXII collections, and make campaigns of what is new. */

function report(outcome: FeedPollOutcome): string {
  const rows = outcome.results.map((r) => [
    r.feed,
    r.items,
    r.campaign ? r.campaign.id : '',
    r.campaign ? (r.campaign.requireApproval ? 'waits for approval' : 'approved (trusted feed)') : r.items ? (r.reason ?? '') : 'nothing new',
    r.alreadyOpen,
  ]);
  for (const f of outcome.failed) rows.push([f.feed, '', '', `failed: ${f.error}`, '']);
  return table(['feed', 'new items', 'campaign', 'state', 'already open'], rows);
}

/** Adds `watch`. */
export function addWatchCommand(prog: Command): void {
  withHostOptions(
    prog
      .command('watch')
      .description('poll the MISP searches and TAXII collections of a feeds file; what is new and not already handled by an open case becomes a campaign, waiting for approval unless its feed is trusted. Serves the host meanwhile (API, replies, workflows); each feed\'s position survives a restart')
      .requiredOption('--config <file>', 'the feeds file (YAML): interval, submitter, feeds: [{name, misp: {url, search, keyEnv}, taxii: {url, collection, user, passwordEnv, tokenEnv, addedAfter}, trusted, tlp, allowAmber}]')
      .option('--once', 'poll every feed once, wait for the new campaigns to be planned (and sent, for trusted feeds), and exit')
      .option('--interval <seconds>', 'seconds between polls (overrides the file\'s interval)', positiveNumber)
      .option('--http-port <port>', 'HTTP port while watching, 0 for any free one (env TAKEDOWN_HTTP_PORT)', port)
      .option('--smtp-port <port>', 'inbound SMTP port while watching, 0 for any free one (env TAKEDOWN_SMTP_PORT)', port),
    '--settings',
  ).action(async (opts: HostFlags & { config: string; settings?: string; once?: boolean; interval?: number }) => {
    if (!existsSync(opts.config)) throw new UsageError(`no such feeds file: ${opts.config}`);
    const { loadFeeds, watchFeeds } = await import('../../watch.js');
    // credentials and the file are checked before the host starts
    const { config, feeds } = loadFeeds(opts.config);
    // --config is the feeds file here; the host's settings file is --settings
    const hostSettings = await hostConfig({ ...opts, config: opts.settings });
    const { runningHost, startHost } = await loadHost();
    const running = runningHost(hostSettings.dataDir ?? '.takedown');
    if (running) throw new UsageError(`a takedown host (pid ${running.pid}) serves this data directory; stop it: watch serves it too`);
    const host = await startHost(hostSettings, { listen: !opts.once });
    try {
      if (opts.once) {
        const { pollFeeds } = await import('../../../adapters/feeds/scheduler-handler.js');
        const outcome = await pollFeeds(host.deps, feeds);
        for (const r of outcome.results) {
          if (!r.campaign) continue;
          await waitForPlan(host, r.campaign.id);
          if (!r.campaign.requireApproval) await waitForSending(host, r.campaign.id);
        }
        out(report(outcome));
        const waiting = outcome.results.filter((r) => r.campaign?.requireApproval);
        for (const r of waiting) out(`campaign ${r.campaign!.id} (${r.feed}) waits for approval: takedown approve ${r.campaign!.id}`);
        if (outcome.failed.length) throw new UsageError(`${outcome.failed.length} feed(s) could not be polled`);
        return;
      }
      const intervalMs = (opts.interval ?? config.interval) * 1000;
      out(summary([['watching', feeds.map((f) => f.reader.name).join(', ')], ['every', `${intervalMs / 1000} s`], ['http', host.httpUrl ?? ''], ['data', host.files.dataDir]]));
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await watchFeeds(host.deps, feeds, intervalMs, stop.signal, (outcome) => {
        const made = outcome.results.filter((r) => r.campaign);
        err(`${new Date().toISOString()} polled ${outcome.results.length + outcome.failed.length} feed(s): ${made.length} new campaign(s)${outcome.failed.length ? `, ${outcome.failed.length} failed` : ''}`);
        if (made.length || outcome.failed.length) out(report(outcome));
      });
      err('stopping: each feed goes on from its position at the next start');
    } finally {
      await host.close();
    }
  });
}
