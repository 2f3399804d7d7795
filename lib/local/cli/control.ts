import type { Command } from 'commander';
import { postJson, reachRunningHost, RECORDED_ONLY, withCommandHost } from './shared/host-client.js';
import { AS_OPTION_HELP, cliActor, dataDirOf, commandHostConfig, out, UsageError, withHostOptions, type HostFlags } from './shared/options.js';

/**
 * `takedown pause|resume|cancel|escalate <id>`: the clock of a campaign, a notice or a case, by hand. Through
 * the running host's API when one serves the data directory, else on an embedded host. Cancelling and escalating
 * need a reason; escalating what a recipient acknowledged or asked about needs `--force` as well.
 */

const ACTIONS = ['pause', 'resume', 'cancel', 'escalate'] as const;
type Action = (typeof ACTIONS)[number];

/** Which kind of record an id names, by its prefix, for the API path. */
function kindOf(id: string): 'campaigns' | 'notices' | 'cases' {
  if (/^cmp_[a-z0-9]{16}$/.test(id)) return 'campaigns';
  if (/^n[a-z0-9]{16}$/.test(id)) return 'notices';
  if (/^c[a-z0-9]{16}$/.test(id)) return 'cases';
  throw new UsageError(`${id} is not a campaign (cmp_…), notice (n…) or case (c…) id; takedown find <indicator> finds them`);
}

/** Adds `pause`, `resume`, `cancel` and `escalate`. */
export function addControlCommands(prog: Command): void {
  const controls: Record<Action, string> = {
    pause: 'stop the clock of a campaign, a notice or a case (no reminder, no escalation while paused)',
    resume: 'start a paused clock again, with the time it had left',
    cancel: 'stop a campaign, a notice or a case for good (a campaign before sending: nothing goes out); needs --reason',
    escalate: 'hand the open cases to the next party of their ladder now, without waiting for the deadline; needs --reason, and --force over a recipient that acknowledged or asked a question',
  };
  for (const action of ACTIONS) {
    const cmd = prog
      .command(action)
      .argument('<id>', 'a campaign (cmp_…), notice (n…) or case (c…) id, as `takedown status` and `takedown find` show them')
      .description(controls[action])
      .option('--reason <text>', 'why (kept in the audit trail)')
      .option('--as <who>', AS_OPTION_HELP);
    if (action === 'escalate') cmd.option('--force', 'escalate even cases their recipient acknowledged, or whose question is not answered yet');
    withHostOptions(cmd).action(async (id: string, opts: HostFlags & { reason?: string; as?: string; force?: boolean }) => {
      const kind = kindOf(id);
      const needsReason = action === 'escalate' || action === 'cancel';
      if (needsReason && !opts.reason?.trim()) throw new UsageError(`say why with --reason "<text>": ${action === 'escalate' ? 'an escalation goes over the head of the party asked, and' : 'cancelling stops the cases for good, and'} the reason goes into the audit trail`);
      const reason = opts.reason?.trim() || 'by hand';
      const running = await reachRunningHost(dataDirOf(opts));
      if (running?.httpUrl) {
        const res = (await postJson(`${running.httpUrl}/${kind}/${encodeURIComponent(id)}/${action}`, { reason, ...(opts.as ? { onBehalfOf: opts.as } : {}), ...(opts.force ? { force: true } : {}) }, dataDirOf(opts))) as {
          result?: { notices: number; cases: number; escalatedTo: string[]; skipped?: { id: string; reason: string }[] };
        };
        const r = res.result;
        out(`${action}: ${id} through the running host (pid ${running.pid})${r ? `; ${r.notices} notice(s), ${r.cases} case(s)${r.escalatedTo.length ? `; new notices ${r.escalatedTo.join(', ')}` : ''}` : ''}`);
        for (const s of r?.skipped ?? []) out(`  left alone: ${s.reason} (--force escalates it)`);
        return;
      }
      const { control } = await import('../../core/campaign/index.js');
      await withCommandHost(await commandHostConfig(opts), async (host) => {
        const r = await control(host.deps, id, action, cliActor(opts.as), reason, { force: opts.force === true });
        out(`${action}: ${id} ${RECORDED_ONLY}; ${r.notices} notice(s), ${r.cases} case(s)${r.escalatedTo.length ? `; new notices ${r.escalatedTo.join(', ')}` : ''}`);
        for (const s of r.skipped ?? []) out(`  left alone: ${s.reason} (--force escalates it)`);
      });
    });
  }
}
