import type { Command } from 'commander';
import { postJson, reachRunningHost, RECORDED_ONLY, withCommandHost } from './shared/host-client.js';
import { AS_OPTION_HELP, cliActor, dataDirOf, commandHostConfig, out, readCampaignFile, UsageError, withHostOptions, type HostFlags } from './shared/options.js';

/**
 * The coordinator's side of a notice's thread: `followup` (answer a recipient's question) and `ack` (record a
 * recipient's answer by hand). Through the running host's API when one serves the data directory; the actor is
 * the CLI's user either way (the host's own key carries its name), and `--as` whom it acts for.
 */

/** A notice id from what people paste: `n…`, `TKD-n…`, `[TKD-n…]`. */
export function noticeIdOf(arg: string): string {
  return arg.trim().replace(/^\[?TKD-/i, '').replace(/\]$/, '').toLowerCase();
}

/** Adds `followup`. */
export function addFollowupCommand(prog: Command): void {
  withHostOptions(
    prog
      .command('followup')
      .argument('<notice>', 'the notice id (n…, or its TKD- tag)')
      .description("answer a recipient's question in the notice's thread; its clock starts again and the question leaves the review queue")
      .option('--message <text>', 'the answer')
      .option('--file <path>', 'read the answer from a file')
      .option('--as <who>', AS_OPTION_HELP),
  ).action(async (noticeArg: string, opts: HostFlags & { message?: string; file?: string; as?: string }) => {
    if (!!opts.message === !!opts.file) throw new UsageError('give the answer with --message or --file (one of them)');
    const message = opts.message ?? readCampaignFile(opts.file!);
    const noticeId = noticeIdOf(noticeArg);
    const running = await reachRunningHost(dataDirOf(opts));
    if (running?.httpUrl) {
      await postJson(`${running.httpUrl}/notices/${encodeURIComponent(noticeId)}/followups`, { message, ...(opts.as ? { onBehalfOf: opts.as } : {}) }, dataDirOf(opts));
      return out(`follow-up sent for ${noticeId}`);
    }
    const { answerQuestion } = await import('../../core/answers/index.js');
    await withCommandHost(await commandHostConfig(opts), async (host) => {
      const n = await answerQuestion(host.deps, noticeId, message, cliActor(opts.as));
      out(`follow-up for ${noticeId} ${RECORDED_ONLY}; notice is ${n.state}, deadline ${n.deadline}`);
    });
  });
}

/** Adds `ack`. */
export function addAckCommand(prog: Command): void {
  withHostOptions(
    prog
      .command('ack')
      .argument('<notice>', 'the notice id (n…, or its TKD- tag)')
      .description("record a recipient's answer by hand (default: acknowledged)")
      .option('--actioned', 'the recipient took it down')
      .option('--disputed', 'the recipient disputes the notice')
      .option('--not-ours', 'the recipient is not the right party: escalate at once')
      .option('--note <text>', 'what they said')
      .option('--as <who>', AS_OPTION_HELP),
  ).action(async (noticeArg: string, opts: HostFlags & { actioned?: boolean; disputed?: boolean; notOurs?: boolean; note?: string; as?: string }) => {
    const chosen = [opts.actioned && 'actioned', opts.disputed && 'disputed', opts.notOurs && 'not-ours'].filter(Boolean) as string[];
    if (chosen.length > 1) throw new UsageError('choose one of --actioned, --disputed, --not-ours');
    const intent = (chosen[0] ?? 'acknowledged') as 'acknowledged';
    const noticeId = noticeIdOf(noticeArg);
    const running = await reachRunningHost(dataDirOf(opts));
    if (running?.httpUrl) {
      await postJson(`${running.httpUrl}/notices/${encodeURIComponent(noticeId)}/answers`, { intent, ...(opts.note ? { note: opts.note } : {}), ...(opts.as ? { onBehalfOf: opts.as } : {}) }, dataDirOf(opts));
      return out(`recorded: ${noticeId} ${intent}`);
    }
    const { recordAnswer } = await import('../../core/answers/index.js');
    await withCommandHost(await commandHostConfig(opts), async (host) => {
      const actor = cliActor(opts.as);
      const result = await recordAnswer(host.deps, noticeId, { intent, source: 'manual', from: actor.name, note: opts.note }, actor);
      out(`${noticeId} ${intent} ${RECORDED_ONLY}; notice is ${result.notice.state}`);
    });
  });
}
