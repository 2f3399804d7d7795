import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { AuditReport, ChainBreak, ChainHead, CheckpointReading } from '../../core/audit/index.js';
import { TakedownError } from '../../core/errors.js';
import type { PackReport } from '../evidence.js';
import { Progress, summary } from './shared/terminal.js';
import { out } from './shared/options.js';

/**
 * `takedown audit verify [campaign]` recomputes the hash chains of the audit trail (from the database, or from an
 * evidence pack with `--pack`) and reports the first broken link; `takedown audit export <campaign>` writes the
 * evidence pack. Exit codes: 0 valid, 1 broken, 2 a usage mistake. Neither needs a running host.
 */

const TOOL_VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();

// below this many chains a run takes a blink: no progress lines for it
const PROGRESS_FROM = 200;

/** A progress bar on stderr that shows only for runs long enough to need one. */
function progressFor(label: string): { update(done: number, total: number): void; finish(): void } {
  const bar = new Progress(label);
  let shown = false;
  return {
    update(done, total) {
      if (total < PROGRESS_FROM) return;
      shown = true;
      bar.update(done, total, 'chains');
    },
    finish() {
      if (shown) bar.finish();
    },
  };
}

/** A broken trail: exit code 1, after the report was printed. */
class AuditBrokenError extends TakedownError {
  constructor(message: string) {
    super('AUDIT.BROKEN', message);
    this.name = 'AuditBrokenError';
  }
}

function usage(cmd: Command, message: string): never {
  // commander prints the message and exits 2: a usage mistake, not a broken trail
  return cmd.error(`takedown: ${message}`, { exitCode: 2, code: 'takedown.usage' });
}

function describeBreak(b: ChainBreak): string {
  return `${b.kind} at ${b.chain} seq ${b.seq}${b.eventId ? ` (event ${b.eventId})` : ''}: ${b.detail}`;
}

interface CampaignResult {
  readonly campaignId: string;
  readonly report: AuditReport;
}

function campaignLine(r: CampaignResult): string {
  const macs = r.report.macs ? `, ${r.report.macs.checked} MACs verified${r.report.macs.legacy ? `, ${r.report.macs.legacy} events from before the audit key` : ''}` : '';
  const size = `${r.report.chains} chains, ${r.report.events} events${macs}`;
  return r.report.ok ? `${r.campaignId}: valid (${size})` : `${r.campaignId}: BROKEN (${size}, ${r.report.brokenChains} broken) — ${describeBreak(r.report.broken!)}`;
}

function packLines(dir: string, report: PackReport): string {
  const lines: [string, string][] = [
    ['pack', dir],
    ['campaign', report.campaignId ?? '(unknown)'],
    ['chains', report.chains ? `${report.chains.chains} chains, ${report.chains.events} events: ${report.chains.ok ? 'valid' : `BROKEN — ${describeBreak(report.chains.broken!)}`}` : 'not read'],
    ['files', `${report.filesChecked} checked, ${report.messagesChecked} messages against the events citing them`],
  ];
  for (const p of report.problems.slice(0, 20)) lines.push(['problem', `${p.path}: ${p.problem}`]);
  if (report.problems.length > 20) lines.push(['problem', `... and ${report.problems.length - 20} more`]);
  lines.push(['result', report.ok ? 'valid' : 'BROKEN']);
  return summary(lines);
}

/** Why the checkpoint log (or the key it needs) cannot be trusted, or undefined. */
function checkpointTrouble(c: CheckpointReading, haveKey: boolean, stored: number): string | undefined {
  if (!c.ok) return c.broken!.detail;
  if (stored > 0 && !haveKey) return 'the audit key (audit.key) is missing: nothing proves who wrote the trail';
  return undefined;
}

function checkpointLine(c: CheckpointReading, haveKey: boolean, trouble: string | undefined): string {
  if (c.records === 0) return `checkpoints: none yet${haveKey ? '' : '; no audit key: hashes only, MACs not checked'}`;
  const head = `checkpoints: ${c.records} records, the last at ${c.last?.at ?? '?'}`;
  return trouble ? `${head} — BROKEN: ${trouble}` : `${head}, ${c.macsChecked ? 'MACs verified' : 'MACs not checked'}`;
}

/** Per chain, the later of two recorded heads (an earlier export's, the checkpoints'). */
function newest(...sets: (Readonly<Record<string, ChainHead>> | undefined)[]): Record<string, ChainHead> {
  const out: Record<string, ChainHead> = {};
  for (const set of sets) for (const [chain, head] of Object.entries(set ?? {})) if (!out[chain] || out[chain].seq < head.seq) out[chain] = head;
  return out;
}

/** What the audit commands run on, loaded when one runs (not for `--help`, nor for the other commands). */
async function auditModules() {
  const [audit, checkpoints, key, routing, sqlite, evidence] = await Promise.all([
    import('../../core/audit/index.js'),
    import('../../adapters/checkpoints/checkpoints.file.js'),
    import('../../adapters/secrets/audit-key.file.js'),
    import('../../core/routing/index.js'),
    import('../../adapters/sqlite/store.sqlite.js'),
    import('../evidence.js'),
  ]);
  return {
    readCheckpoints: audit.readCheckpoints,
    verifyCampaign: audit.verifyCampaign,
    FileCheckpointLog: checkpoints.FileCheckpointLog,
    readAuditKeyFile: key.readAuditKeyFile,
    DIRECTORY_AUDIT_ID: routing.DIRECTORY_AUDIT_ID,
    SqliteStore: sqlite.SqliteStore,
    exportEvidencePack: evidence.exportEvidencePack,
    headsOfManifest: evidence.headsOfManifest,
    verifyEvidencePack: evidence.verifyEvidencePack,
  };
}

/** Adds `audit verify` and `audit export` to the program. */
export function addAuditCommands(prog: Command): void {
  const audit = prog
    .command('audit')
    .description('prove the audit trail was not altered: verify its hash chains, export an evidence pack')
    // a missing database or pack is said in one line; the whole help after it would bury it
    .showHelpAfterError(false);

  audit
    .command('verify')
    .argument('[campaign]', 'the campaign id (default: every campaign, and the contact directory\'s trail)')
    .description('recompute every hash chain of the audit trail and report the first broken link (exit 0 valid, 1 broken, 2 usage)')
    .option('--pack <dir>', 'verify an exported evidence pack instead of the database: file hashes, chains, messages')
    .option('--against <manifest>', 'also check that every chain head recorded in an earlier export\'s manifest.json is still in its chain (finds a cut-off tail)')
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .option('--json', 'machine-readable output')
    .action(async (campaignArg: string | undefined, opts: { pack?: string; against?: string; dataDir?: string; json?: boolean }, cmd: Command) => {
      const { readCheckpoints, verifyCampaign, FileCheckpointLog, readAuditKeyFile, DIRECTORY_AUDIT_ID, SqliteStore, headsOfManifest, verifyEvidencePack } = await auditModules();
      let earlier: { campaignId: string; heads: Record<string, ChainHead> } | undefined;
      if (opts.against !== undefined) {
        if (!existsSync(opts.against)) usage(cmd, `no manifest ${opts.against}`);
        try {
          earlier = headsOfManifest(opts.against);
        } catch {
          usage(cmd, `${opts.against} is not an evidence pack manifest`);
        }
        if (campaignArg !== undefined && campaignArg !== earlier.campaignId) usage(cmd, `${opts.against} is the manifest of campaign ${earlier.campaignId}, not ${campaignArg}`);
      }

      if (opts.pack !== undefined) {
        const dir = resolve(opts.pack);
        if (!existsSync(dir)) usage(cmd, `no pack at ${opts.pack}`);
        const report = verifyEvidencePack(dir, earlier ? { heads: earlier.heads } : {});
        if (campaignArg !== undefined && report.campaignId !== undefined && report.campaignId !== campaignArg) {
          usage(cmd, `the pack is of campaign ${report.campaignId}, not ${campaignArg}`);
        }
        out(opts.json ? JSON.stringify({ pack: dir, ...report }, null, 2) : packLines(dir, report));
        if (!report.ok) throw new AuditBrokenError(`the evidence pack does not verify: ${report.chains?.broken ? describeBreak(report.chains.broken) : report.problems[0]?.problem ?? 'see above'}`);
        return;
      }

      const { hostFiles } = await import('../host-files.js');
      const files = hostFiles(opts.dataDir ?? process.env.TAKEDOWN_DATA_DIR ?? '.takedown');
      if (!existsSync(files.database)) usage(cmd, `no data in ${files.dataDir}`);
      // the key and the checkpoints live beside the database, never in it: read, never created, here
      const key = await readAuditKeyFile(files.auditKey);
      const logged = await new FileCheckpointLog(files.checkpoints).readAll();
      const checkpoints = await readCheckpoints(logged, key);
      const store = new SqliteStore(files.database);
      try {
        const target = campaignArg ?? earlier?.campaignId;
        let ids: string[];
        if (target !== undefined) {
          if (!(await store.getCampaign(target)) && (await store.listChains(target)).length === 0 && !checkpoints.heads[target]) usage(cmd, `no campaign ${target}`);
          ids = [target];
        } else {
          ids = (await store.listCampaigns()).map((c) => c.id).reverse();
          if ((await store.listChains(DIRECTORY_AUDIT_ID)).length > 0) ids.push(DIRECTORY_AUDIT_ID);
          // a campaign the checkpoints know and the database does not lost its whole trail (and its record)
          for (const id of Object.keys(checkpoints.heads)) if (!ids.includes(id)) ids.push(id);
        }
        const trouble = checkpointTrouble(checkpoints, key !== undefined, logged.length);
        if (!opts.json) out(checkpointLine(checkpoints, key !== undefined, trouble));
        const results: CampaignResult[] = [];
        for (const campaignId of ids) {
          const progress = progressFor(`verify ${campaignId}`);
          let report = await verifyCampaign({ store }, campaignId, {
            heads: newest(earlier?.heads, checkpoints.heads[campaignId]),
            ...(key ? { key, legacy: checkpoints.baseline[campaignId] ?? {} } : {}),
            onProgress: (done, total) => progress.update(done, total),
          });
          progress.finish();
          // every campaign records its submission: a campaign with no event at all lost its whole trail
          if (report.events === 0 && campaignId !== DIRECTORY_AUDIT_ID) {
            report = { ...report, ok: false, brokenChains: 1, broken: { chain: `campaign:${campaignId}`, seq: 0, kind: 'missing-seq', detail: 'the campaign has no audit event at all' } };
          }
          results.push({ campaignId, report });
          if (!opts.json) out(campaignLine({ campaignId, report }));
        }
        const broken = results.filter((r) => !r.report.ok);
        if (opts.json) {
          out(JSON.stringify({ ok: broken.length === 0 && !trouble, checkpoints: { ...checkpoints, heads: undefined, baseline: undefined, ...(trouble ? { problem: trouble } : {}) }, campaigns: results.map((r) => ({ campaignId: r.campaignId, ...r.report })) }, null, 2));
        } else if (results.length === 0) out('nothing to verify: no campaign yet');
        if (broken.length) {
          const first = broken[0]!;
          throw new AuditBrokenError(`${broken.length} of ${results.length} audit trails are broken; the first: ${first.campaignId}, chain ${first.report.broken!.chain} (${first.report.broken!.kind})`);
        }
        if (trouble) throw new AuditBrokenError(`the audit checkpoints do not verify: ${trouble}`);
      } finally {
        store.close();
      }
    });

  audit
    .command('export')
    .argument('<campaign>', 'the campaign id')
    .description('write a self-contained evidence pack: events.jsonl, the raw messages, manifest.json with every hash (check it with audit verify --pack)')
    .option('--out <dir>', 'where to write it; must not exist or be empty (default: ./evidence-<campaign>)')
    .option('--to-s3 <s3://bucket/prefix>', "also copy the verified pack into S3, e.g. the stack's Object Lock bucket (output EvidenceBucketName); AWS credentials from the environment")
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .option('--json', 'machine-readable output')
    .action(async (campaignId: string, opts: { out?: string; toS3?: string; dataDir?: string; json?: boolean }, cmd: Command) => {
      const { SqliteStore, exportEvidencePack, verifyEvidencePack } = await auditModules();
      // the AWS SDK is loaded only for an export to S3
      const s3 = opts.toS3 ? await import('../../adapters/aws/evidence-upload.js') : undefined;
      if (opts.toS3) s3!.parseS3Url(opts.toS3);
      const outDir = resolve(opts.out ?? `evidence-${campaignId.replace(/[^A-Za-z0-9._-]/g, '_')}`);
      if (existsSync(outDir) && readdirSync(outDir).length > 0) usage(cmd, `${outDir} is not empty`);
      const { hostFiles } = await import('../host-files.js');
      const files = hostFiles(opts.dataDir ?? process.env.TAKEDOWN_DATA_DIR ?? '.takedown');
      if (!existsSync(files.database)) usage(cmd, `no data in ${files.dataDir}`);
      const store = new SqliteStore(files.database);
      try {
        const campaign = await store.getCampaign(campaignId);
        if (!campaign && (await store.listChains(campaignId)).length === 0) usage(cmd, `no campaign ${campaignId}`);
        const progress = progressFor(`export ${campaignId}`);
        const { openMessageStore } = await import('../message-store.js');
        const messages = openMessageStore(files);
        const manifest = await exportEvidencePack({
          store,
          messages,
          dataDir: files.dataDir,
          campaignId,
          ...(campaign ? { campaign } : {}),
          outDir,
          exportedAt: new Date(),
          toolVersion: TOOL_VERSION,
          onProgress: (done, total) => progress.update(done, total),
        }).finally(() => messages.close());
        progress.finish();
        // the pack is checked as an auditor will check it: a trail broken before the export stays visible
        const report = verifyEvidencePack(outDir);
        if (opts.json) {
          out(JSON.stringify({ pack: outDir, counts: manifest.counts, missing: manifest.missing, verification: report }, null, 2));
        } else {
          out(
            summary([
              ['pack', outDir],
              ['events', `${manifest.counts.events} in ${manifest.counts.chains} chains`],
              ['messages', `${manifest.counts.outboundMessages} outbound, ${manifest.counts.inboundMessages} inbound`],
              ...manifest.missing.slice(0, 10).map((m): [string, string] => ['not in the pack', `${m.sha256.slice(0, 12)}… (event ${m.event}): ${m.reason}`]),
              ['verification', report.ok ? 'valid' : `BROKEN — ${report.chains?.broken ? describeBreak(report.chains.broken) : report.problems[0]?.problem ?? ''}`],
            ]),
          );
        }
        if (!report.ok) throw new AuditBrokenError('the pack was written, but the audit trail it holds does not verify');
        if (opts.toS3) {
          const keys = await s3!.uploadEvidencePack(outDir, opts.toS3);
          if (!opts.json) out(`copied ${keys.length} files to ${opts.toS3} (manifest.json last)`);
        }
      } finally {
        store.close();
      }
    });
}
