import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import type { Classification, ReviewItem } from '../../core/answers/index.js';
import type { InputIssue } from '../../core/errors.js';
import { summary, table } from './shared/terminal.js';
import { AS_OPTION_HELP, cliActor, dataDirOf, commandHostConfig, out, UsageError, withHostOptions, type HostFlags } from './shared/options.js';
import { postJson, reachRunningHost, RECORDED_ONLY, withCommandHost } from './shared/host-client.js';

const INTENTS = ['received', 'acknowledged', 'actioned', 'not-ours', 'needs-info', 'disputed'];

/**
 * `takedown classify <file.eml>...` (why a message was read as it was) and `takedown review` (the messages
 * waiting for a person, and a person's decisions: apply, dismiss). Classify reads files; review reads the data
 * directory, and decides through the running host's API when one serves it.
 */

function shorten(text: string | undefined, max: number): string {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The fields of a classification, one line each, for people. */
export function classificationLines(c: Classification): [string, string][] {
  const lines: [string, string][] = [['class', c.class]];
  switch (c.class) {
    case 'bounce':
      lines.push(['severity', c.severity], ['format', c.format]);
      for (const r of c.recipients) {
        lines.push(['recipient', [r.address ?? '(not named)', r.status ?? '(no status)', r.action ?? '', r.diagnostic ? `"${shorten(r.diagnostic, 120)}"` : ''].filter(Boolean).join('  ')]);
      }
      break;
    case 'report':
      lines.push(['format', c.format], ...(c.feedbackType ? ([['feedback type', c.feedbackType]] as [string, string][]) : []));
      break;
    case 'auto-reply':
      lines.push(['kind', c.kind], ...(c.ticket ? ([['ticket', c.ticket]] as [string, string][]) : []));
      break;
    case 'human':
      lines.push(['intent', c.intent]);
      if (c.phrase) lines.push(['phrase', `"${c.phrase}"`]);
      if (c.language) lines.push(['language', c.language]);
      if (c.ticket) lines.push(['ticket', c.ticket]);
      lines.push(['their text', shorten(c.text, 300) || '(none above the quoted part)']);
      break;
  }
  lines.push(['reason', c.reason]);
  if (c.refs.messageIds.length) lines.push(['refers to', c.refs.messageIds.slice(0, 5).join(' ')]);
  return lines;
}

/** Adds `classify` and `review list|show|apply|dismiss` to the program. */
export function addMailCommands(prog: Command): void {
  prog
    .command('classify')
    .argument('<files...>', 'raw messages (.eml)')
    .description('classify inbound messages (bounce, report, auto-reply, human answer and its intent) and say why; nothing is stored or applied')
    .option('--json', 'machine-readable output')
    .action(async (files: string[], opts: { json?: boolean }) => {
      const issues: InputIssue[] = [];
      for (const file of files) {
        if (!existsSync(file)) issues.push({ where: file, reason: 'no such file' });
        else if (statSync(file).isDirectory()) issues.push({ where: file, reason: 'a directory, not a message' });
      }
      if (issues.length) {
        const { InvalidInputError } = await import('../../core/errors.js');
        throw new InvalidInputError('some files cannot be read', issues);
      }
      // the MIME parser is loaded only when there are messages to read
      const { parseMail } = await import('../../adapters/mail/parse.js');
      const { classifyMail } = await import('../../core/answers/index.js');
      const results: { file: string; classification: Classification }[] = [];
      for (const file of files) results.push({ file, classification: classifyMail(await parseMail(readFileSync(file))) });
      if (opts.json) return out(JSON.stringify(results, null, 2));
      out(results.map((r) => `${r.file}\n${summary(classificationLines(r.classification).map(([k, v]) => [`  ${k}`, v]))}`).join('\n\n'));
    });

  addReviewCommands(prog);
}

function reviewLine(r: ReviewItem): string[] {
  return [
    r.id,
    r.receivedAt,
    r.reason,
    r.classification ? r.classification.class + (r.classification.class === 'human' ? `/${r.classification.intent}` : '') : '(no message)',
    r.noticeId ?? '',
    r.from ?? '',
    shorten(r.subject, 50),
    shorten(r.why ?? r.note ?? r.classification?.reason ?? '', 70),
  ];
}

/** The review queue of a data directory, read from its store (whether or not a host serves it). */
async function readQueue(dataDir: string): Promise<import('../../core/answers/index.js').ReviewQueue | undefined> {
  const { hostFiles } = await import('../host-files.js');
  const files = hostFiles(dataDir);
  if (!existsSync(files.database)) return undefined;
  const { SqliteStore } = await import('../../adapters/sqlite/store.sqlite.js');
  const { reviewQueue } = await import('../../core/answers/index.js');
  const store = new SqliteStore(files.database);
  try {
    return await reviewQueue({ store });
  } finally {
    store.close();
  }
}

/** `takedown review list|show|apply|dismiss`: the messages waiting for a person, and what a person decides. */
function addReviewCommands(prog: Command): void {
  const review = prog
    .command('review')
    .description('the review queue: unmatched replies, unclear answers, questions, abuse reports, suspicious senders, bounces that could not be applied (list, show, apply, dismiss)');

  review
    .command('list', { isDefault: true })
    .description('list what waits for a person (--all: what was decided too)')
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .option('--all', 'also the items decided (applied, dismissed, settled)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { dataDir?: string; json?: boolean; all?: boolean }) => {
      const dataDir = dataDirOf(opts);
      const queue = await readQueue(dataDir);
      if (!queue) {
        if (opts.json) return out(JSON.stringify({ reviews: [] }, null, 2));
        return out(`nothing to review: no data in ${dataDir} yet`);
      }
      if (opts.json) return out(JSON.stringify({ reviews: queue.open, ...(opts.all ? { decided: queue.resolved } : {}) }, null, 2));
      if (!queue.open.length) out('nothing to review');
      else {
        out(table(['item', 'received', 'why', 'class', 'notice', 'from', 'subject', 'reason'], queue.open.map(reviewLine)));
        out(`\nread one: takedown review show <item> --data-dir ${dataDir}; decide: takedown review apply <item> --intent <intent> | takedown review dismiss <item>`);
      }
      if (opts.all && queue.resolved.length) {
        out('\ndecided:');
        out(table(['item', 'subject', 'decision', 'by', 'when'], queue.resolved.map(({ item, resolution: r }) => [item.id, shorten(item.subject, 50), `${r.action}${r.intent ? ` as ${r.intent}` : ''}${r.how ? ` (${r.how})` : ''}`, `${r.by}${r.onBehalfOf ? ` for ${r.onBehalfOf}` : ''}`, r.at])));
      }
    });

  review
    .command('show')
    .argument('<item>', 'the item id (r_…), as `takedown review list` shows it')
    .description('one item: why it is on the queue, how the message was read, the recipient\'s words, where the raw message is, and what became of it')
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: { dataDir?: string; json?: boolean }) => {
      const dataDir = dataDirOf(opts);
      const queue = await readQueue(dataDir);
      const open = queue?.open.find((r) => r.id === id);
      const decided = queue?.resolved.find((r) => r.item.id === id);
      const item = open ?? decided?.item;
      if (!item) throw new UsageError(`no review item ${id} in ${dataDir}: takedown review list --data-dir ${dataDir} shows them`);
      if (opts.json) return out(JSON.stringify({ item, ...(decided ? { resolution: decided.resolution } : {}) }, null, 2));
      out(
        summary([
          ['item', item.id],
          ['received', item.receivedAt],
          ['why', item.reason + (item.why ? `: ${item.why}` : '')],
          ['notice', item.noticeId ? `${item.noticeId}${item.matchedBy ? ` (matched by ${item.matchedBy})` : ''}` : 'none: name it with --notice when applying'],
          ['from', item.from ?? ''],
          ['subject', item.subject],
          ...(item.note ? ([['their words', shorten(item.note, 500)]] as [string, string][]) : []),
          ...(item.rawRef ? ([['raw message', item.rawRef]] as [string, string][]) : []),
          ...(item.rawSha256 ? ([['sha-256', item.rawSha256]] as [string, string][]) : []),
          ['decided', decided ? `${decided.resolution.action}${decided.resolution.intent ? ` as ${decided.resolution.intent}` : ''} by ${decided.resolution.by} at ${decided.resolution.at}${decided.resolution.how ? ` (${decided.resolution.how})` : ''}` : 'not yet'],
        ]),
      );
      if (item.classification) out('\n' + summary(classificationLines(item.classification).map(([k, v]) => [`  ${k}`, v])));
    });

  withHostOptions(
    review
      .command('apply')
      .argument('<item>', 'the item id (r_…)')
      .description('apply an item as the answer you read in it; it is recorded as entered by you')
      .requiredOption('--intent <intent>', `what the message says: ${INTENTS.join(', ')}`)
      .option('--notice <notice>', 'the notice it answers (n… or its TKD- tag), for a message that matched none')
      .option('--note <text>', 'why you read it so (kept with the answer)')
      .option('--as <who>', AS_OPTION_HELP),
  ).action(async (id: string, opts: HostFlags & { intent: string; notice?: string; note?: string; as?: string }) => {
    if (!INTENTS.includes(opts.intent)) throw new UsageError(`--intent ${opts.intent} is not one of ${INTENTS.join(', ')}`);
    const dataDir = dataDirOf(opts);
    const body = { intent: opts.intent, ...(opts.notice ? { noticeId: opts.notice } : {}), ...(opts.note ? { note: opts.note } : {}), ...(opts.as ? { onBehalfOf: opts.as } : {}) };
    const running = await reachRunningHost(dataDir);
    if (running?.httpUrl) {
      await postJson(`${running.httpUrl}/reviews/${encodeURIComponent(id)}/apply`, body, dataDir);
      return out(`applied ${id} as ${opts.intent} through the running host (pid ${running.pid})`);
    }
    const { applyReview } = await import('../../core/answers/index.js');
    await withCommandHost(await commandHostConfig(opts), async (host) => {
      const r = await applyReview(host.deps, id, { intent: opts.intent, by: cliActor(opts.as), ...(opts.notice ? { noticeId: opts.notice } : {}), ...(opts.note ? { note: opts.note } : {}) });
      out(`applied ${id} as ${r.intent} on ${r.noticeId}; ${RECORDED_ONLY}`);
    });
  });

  withHostOptions(
    review
      .command('dismiss')
      .argument('<item>', 'the item id (r_…)')
      .description('set an item aside: nothing is applied; your decision is recorded')
      .option('--note <text>', 'why (kept with the decision)')
      .option('--as <who>', AS_OPTION_HELP),
  ).action(async (id: string, opts: HostFlags & { note?: string; as?: string }) => {
    const dataDir = dataDirOf(opts);
    const running = await reachRunningHost(dataDir);
    if (running?.httpUrl) {
      await postJson(`${running.httpUrl}/reviews/${encodeURIComponent(id)}/dismiss`, { ...(opts.note ? { note: opts.note } : {}), ...(opts.as ? { onBehalfOf: opts.as } : {}) }, dataDir);
      return out(`dismissed ${id} through the running host (pid ${running.pid})`);
    }
    const { dismissReview } = await import('../../core/answers/index.js');
    await withCommandHost(await commandHostConfig(opts), async (host) => {
      await dismissReview(host.deps, id, { by: cliActor(opts.as), ...(opts.note ? { note: opts.note } : {}) });
      out(`dismissed ${id}; nothing was applied`);
    });
  });
}
