import { Option, type Command } from 'commander';
import { summary, table } from './shared/terminal.js';
import { loadHost } from './shared/host-client.js';
import { err, hostConfig, out, port, positiveNumber, UsageError, type HostFlags } from './shared/options.js';

/** `takedown serve` (the embedded host, until stopped) and `takedown demo` (a whole campaign, simulated). */

/** Adds `demo`. */
export function addDemoCommand(prog: Command): void {
  prog
    .command('demo')
    .description('play a whole campaign against simulated recipients in about a minute: notices, reminders, a bounce, escalation, answers, probes, a site that comes back')
    .option('--data-dir <dir>', 'where the demo keeps its data (wiped first)', '.takedown-demo')
    .option('--scale <n>', 'domain seconds per real second (8640: a day in 10 s)', positiveNumber, 8640)
    .action(async (opts: { dataDir: string; scale: number }) => {
      out('takedown demo: 8 indicators, 7 registrars and a national CERT, all simulated on this machine; nothing leaves it.\n');
      // the demo brings its simulated recipients' mail and DNS servers: loaded only to play it
      const { demoRows, runDemo } = await import('../demo.js');
      const { hostFiles } = await loadHost();
      const result = await runDemo({ dataDir: opts.dataDir, scale: opts.scale, out });
      out('');
      out(
        table(
          ['indicator', 'asked', 'state', 'last probe'],
          demoRows(result.cases),
        ),
      );
      out(`\n${result.sent.length} messages sent, ${result.replies.length} answers received, in ${result.seconds.toFixed(0)} s.`);
      out(`Look next: takedown status ${result.campaignId} --data-dir ${opts.dataDir}`);
      out(`           the messages as sent: ${hostFiles(opts.dataDir).outbox}`);
      out(`           the replies as received: ${hostFiles(opts.dataDir).inbox}`);
      out(`           the dashboard: takedown serve --data-dir ${opts.dataDir}, then open /ui`);
    });
}

/** Adds `serve`. */
export function addServeCommand(prog: Command): void {
  prog
    .command('serve')
    .description('run the embedded host: HTTP API and webhooks, SMTP for inbound replies, the workflow engine; resumes every open notice')
    .option('--http-port <port>', 'HTTP port, 0 for any free one (env TAKEDOWN_HTTP_PORT)', port)
    .option('--smtp-port <port>', 'inbound SMTP port, 0 for any free one (env TAKEDOWN_SMTP_PORT)', port)
    .option('--data-dir <dir>', 'where the database, outbox and inbox live (env TAKEDOWN_DATA_DIR)')
    .option('--time-scale <n>', 'domain seconds per real second (env TAKEDOWN_TIME_SCALE)', positiveNumber)
    .option('--smtp-url <url>', 'send through this SMTP relay instead of the embedded outbox (env SMTP_URL)')
    .option('--directory <file>', 'the party directory (env TAKEDOWN_DIRECTORY)')
    .option('--rdap <mode>', 'local (recorded answers, no network), real (the registries\' RDAP servers) or off (env TAKEDOWN_RDAP)')
    .option('--rdap-bootstrap <url or dir>', 'RDAP bootstrap files of another RDAP service (env TAKEDOWN_RDAP_BOOTSTRAP)')
    .option('--routing <file>', 'the routing policy (env TAKEDOWN_ROUTING)')
    .option('--config <file>', "the settings file (default: the data directory's takedown.yaml; takedown config check shows what is used)")
    .addOption(new Option('--log-level <level>', 'log level on stderr').choices(['debug', 'info', 'warn', 'error', 'silent']))
    .action(async (opts: HostFlags) => {
      const config = await hostConfig(opts);
      // a serve says what it does: info unless the settings or a flag say otherwise
      config.logLevel ??= 'info';
      const { runningHost } = await import('../host-files.js');
      const running = runningHost(config.dataDir ?? '.takedown');
      if (running) throw new UsageError(`a takedown host (pid ${running.pid}) already serves this data directory at ${running.httpUrl}`);
      const { startHost } = await loadHost();
      const host = await startHost(config, { listen: true });
      const { signInLink } = await import('../keys.js');
      const link = host.httpUrl ? await signInLink(host.store, host.files.dataDir, host.httpUrl) : undefined;
      out(
        summary([
          ['dashboard', link ?? ''],
          ['', link ? 'a one-time sign-in link (15 minutes); later: takedown keys create --role coordinator --name <you> --data-dir ' + host.files.dataDir : ''],
          ['http API', host.httpUrl ?? ''],
          ['smtp (replies)', `${host.config.smtpHost}:${host.smtpPort}`],
          ['mail goes to', host.mailDestination],
          ['public URL', host.deps.settings.publicUrl ?? ''],
          ['data', host.files.dataDir],
          ['time scale', host.clock.scale],
          ['resumed', `${host.resumed.notices} notices, ${host.resumed.campaigns} campaigns, ${host.resumed.answersApplied} stored answers applied`],
        ].filter(([k, v]) => k !== '' || v !== '') as [string, string | number][]),
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      err('stopping: open notices keep their stored state and resume at the next start');
      await host.close();
    });
}
