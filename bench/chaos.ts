/**
 * `npm run chaos`: the exactly-once promise under fire. A campaign of ~400 notices on the embedded host, its SMTP
 * relay refusing ~30 % of transactions at every phase (421/451 at MAIL, RCPT, DATA and after the data; connections
 * dropped before the greeting and after the whole message but before the 250), `takedown serve` SIGKILLed 10-12
 * times at random, answers meanwhile by reply mail, one-click link, signed webhook and `takedown ack` (with and
 * without a running host). Then the faults stop, the host finishes, and the run prints, from the delivered mail, the
 * store and the audit trail, every loss, duplicate, stuck record, send off the relay, send after close and case in
 * two hands it found: each must be 0. Figures are reported; the exit code is 1 when one is not 0.
 *
 *   npm run chaos [-- --json] [--seed <n>] [--short] [--keep <dir>] [--kills <n>] [--recheck <kept dir>]
 */
import { kept, reportText } from './chaos/report.js';
import { fullRun, recheck, runChaos, shortRun, type ChaosOptions } from './chaos/run.js';

interface Args {
  json: boolean;
  short: boolean;
  seed: number;
  keep?: string;
  kills?: number;
  recheck?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { json: false, short: false, seed: Math.floor(Date.now() % 100_000) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--short') args.short = true;
    else if (a === '--seed') args.seed = Number(argv[++i]);
    else if (a === '--keep') args.keep = argv[++i];
    else if (a === '--kills') args.kills = Number(argv[++i]);
    else if (a === '--recheck') args.recheck = argv[++i];
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run chaos [-- --json] [--seed <n>] [--short] [--keep <dir>] [--kills <n>] [--recheck <kept dir>]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(args.seed)) throw new Error('--seed takes an integer');
  if (args.kills !== undefined && !(Number.isInteger(args.kills) && args.kills >= 0)) throw new Error('--kills takes a whole number');
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.recheck) {
    const { findings } = recheck(args.recheck);
    process.stdout.write(JSON.stringify(findings, null, 2) + '\n');
    process.exitCode = Object.values(findings).every((f) => f.count === 0) ? 0 : 1;
    return;
  }
  const base = args.short ? shortRun(args.seed) : fullRun(args.seed);
  const options: ChaosOptions = {
    ...base,
    ...(args.kills !== undefined ? { kills: args.kills } : {}),
    ...(args.keep ? { runDir: args.keep } : {}),
    log: (line) => void process.stderr.write(`[chaos] ${line}\n`),
  };
  const report = await runChaos(options);
  process.stdout.write((args.json ? JSON.stringify(report, null, 2) : reportText(report)) + '\n');
  process.exitCode = kept(report) ? 0 : 1;
}

await main();
