import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { classifyMail, type Classification } from '../../core/answers/index.js';
import { InvalidInputError, type InputIssue } from '../../core/errors.js';
import { listReviews, type ReviewItem } from '../../core/answers/index.js';
import { SqliteStore } from '../../adapters/sqlite/store.sqlite.js';
import { summary, table } from './terminal.js';
import { out } from './options.js';
import { loadHost } from './host-client.js';

/**
 * `takedown classify <file.eml>...` (why a message was read as it was) and `takedown review` (the messages
 * waiting for a person). Neither needs a running host: classify reads files, review reads the data directory.
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

/** Adds `classify` and `review` to the program. */
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
      if (issues.length) throw new InvalidInputError('some files cannot be read', issues);
      // the MIME parser is loaded only when there are messages to read
      const { parseMail } = await import('../../adapters/mail/parse.js');
      const results: { file: string; classification: Classification }[] = [];
      for (const file of files) results.push({ file, classification: classifyMail(await parseMail(readFileSync(file))) });
      if (opts.json) return out(JSON.stringify(results, null, 2));
      out(results.map((r) => `${r.file}\n${summary(classificationLines(r.classification).map(([k, v]) => [`  ${k}`, v]))}`).join('\n\n'));
    });

  prog
    .command('review')
    .description('list the inbound messages waiting for a person: unmatched replies, unclear answers, abuse reports, bounces that could not be applied')
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { dataDir?: string; json?: boolean }) => {
      const { hostFiles } = await loadHost();
      const files = hostFiles(opts.dataDir ?? process.env.TAKEDOWN_DATA_DIR ?? '.takedown');
      if (!existsSync(files.database)) {
        if (opts.json) return out(JSON.stringify({ reviews: [] }, null, 2));
        return out(`nothing to review: no data in ${files.dataDir} yet`);
      }
      const store = new SqliteStore(files.database);
      try {
        const items: ReviewItem[] = [];
        let after: string | undefined;
        do {
          const page = await listReviews({ store }, { after, limit: 500 });
          items.push(...page.items);
          after = page.next;
        } while (after);
        if (opts.json) return out(JSON.stringify({ reviews: items }, null, 2));
        if (!items.length) return out('nothing to review');
        out(
          table(
            ['received', 'why', 'class', 'notice', 'from', 'subject', 'reason', 'raw'],
            items.map((r) => [
              r.receivedAt,
              r.reason,
              r.classification ? r.classification.class + (r.classification.class === 'human' ? `/${r.classification.intent}` : '') : '',
              r.noticeId ?? '',
              r.from ?? '',
              shorten(r.subject, 50),
              shorten(r.why ?? r.classification?.reason ?? r.note ?? '', 70),
              r.rawRef ?? (r.rawSha256.slice(0, 12) || '-'),
            ]),
          ),
        );
      } finally {
        store.close();
      }
    });
}
