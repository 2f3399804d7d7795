import type { Command } from 'commander';
import { sendFollowup } from '../../core/notices/index.js';
import { recordAnswer } from '../../core/answers/index.js';
import { postJson, reachRunningHost, RECORDED_ONLY, withCommandHost } from './host-client.js';
import { dataDirOf, hostConfig, out, readCampaignFile, safeUser, UsageError, withHostOptions, type HostFlags } from './options.js';

/**
 * The coordinator's side of a notice's thread: `followup` (answer a recipient's question) and `ack` (record a
 * recipient's answer by hand). Through the running host's API when one serves the data directory.
 */

/** Adds `followup`. */
export function addFollowupCommand(prog: Command): void {
  withHostOptions(
    prog
      .command('followup')
      .argument('<notice>', 'the notice id (the TKD- tag without TKD-)')
      .description("answer a recipient's question in the notice's thread; its clock starts again")
      .option('--message <text>', 'the answer')
      .option('--file <path>', 'read the answer from a file')
      .option('--as <who>', 'who answers (default: your user name)'),
  ).action(async (noticeArg: string, opts: HostFlags & { message?: string; file?: string; as?: string }) => {
    if (!!opts.message === !!opts.file) throw new UsageError('give the answer with --message or --file (one of them)');
    const message = opts.message ?? readCampaignFile(opts.file!);
    const by = opts.as ?? safeUser();
    const noticeId = noticeArg.replace(/^\[?TKD-/i, '').replace(/\]$/, '').toLowerCase();
    const running = await reachRunningHost(dataDirOf(opts));
    if (running?.httpUrl) {
      await postJson(`${running.httpUrl}/notices/${encodeURIComponent(noticeId)}/followups`, { message, by }, dataDirOf(opts));
      return out(`follow-up sent for ${noticeId}`);
    }
    await withCommandHost(await hostConfig(opts), async (host) => {
      const n = await sendFollowup(host.deps, noticeId, { kind: 'answer', message, by }, by);
      out(`follow-up for ${noticeId} ${RECORDED_ONLY}; notice is ${n.state}, deadline ${n.deadline}`);
    });
  });
}

/** Adds `ack`. */
export function addAckCommand(prog: Command): void {
  withHostOptions(
    prog
      .command('ack')
      .argument('<notice>', 'the notice id (the TKD- tag without TKD-)')
      .description('record a recipient\'s answer by hand (default: acknowledged)')
      .option('--actioned', 'the recipient took it down')
      .option('--disputed', 'the recipient disputes the notice')
      .option('--not-ours', 'the recipient is not the right party: escalate at once')
      .option('--note <text>', 'what they said'),
  ).action(async (noticeArg: string, opts: HostFlags & { actioned?: boolean; disputed?: boolean; notOurs?: boolean; note?: string }) => {
    const chosen = [opts.actioned && 'actioned', opts.disputed && 'disputed', opts.notOurs && 'not-ours'].filter(Boolean) as string[];
    if (chosen.length > 1) throw new UsageError('choose one of --actioned, --disputed, --not-ours');
    const intent = (chosen[0] ?? 'acknowledged') as 'acknowledged';
    const noticeId = noticeArg.replace(/^\[?TKD-/i, '').replace(/\]$/, '').toLowerCase();
    const running = await reachRunningHost(dataDirOf(opts));
    if (running?.httpUrl) {
      await postJson(`${running.httpUrl}/notices/${encodeURIComponent(noticeId)}/answers`, { intent, ...(opts.note ? { note: opts.note } : {}) }, dataDirOf(opts));
      return out(`recorded: ${noticeId} ${intent}`);
    }
    await withCommandHost(await hostConfig(opts), async (host) => {
      const result = await recordAnswer(host.deps, noticeId, { intent, source: 'manual', from: safeUser(), note: opts.note });
      out(`${noticeId} ${intent} ${RECORDED_ONLY}; notice is ${result.notice.state}`);
    });
  });
}
