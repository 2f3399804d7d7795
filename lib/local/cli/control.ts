import type { Command } from 'commander';
import { control, ControlAction, targetOf } from '../../core/campaign/index.js';
import { postJson, reachRunningHost, RECORDED_ONLY, withCommandHost } from './host-client.js';
import { dataDirOf, hostConfig, out, safeUser, withHostOptions, type HostFlags } from './options.js';

/**
 * `takedown pause|resume|cancel|escalate <id>`: the clock of a campaign, a notice or a case, by hand. Through
 * the running host's API when one serves the data directory, else on an embedded host.
 */

/** Adds `pause`, `resume`, `cancel` and `escalate`. */
export function addControlCommands(prog: Command): void {
  const controls: Record<ControlAction, string> = {
    pause: 'stop the clock of a campaign, a notice or a case (no reminder, no escalation while paused)',
    resume: 'start a paused clock again, with the time it had left',
    cancel: 'stop a campaign, a notice or a case for good (a campaign before sending: nothing goes out)',
    escalate: 'hand the open cases to the next party of their ladder now, without waiting for the deadline',
  };
  for (const action of ControlAction.options) {
    withHostOptions(
      prog
        .command(action)
        .argument('<id>', 'a campaign (cmp_…), notice (n…) or case (c…) id, as `takedown status` shows them')
        .description(controls[action])
        .option('--reason <text>', 'why (kept in the audit trail)', 'by hand')
        .option('--as <who>', 'who acts (default: your user name)'),
    ).action(async (id: string, opts: HostFlags & { reason: string; as?: string }) => {
      const by = opts.as ?? safeUser();
      const target = targetOf(id);
      const kind = 'campaignId' in target ? 'campaigns' : 'noticeId' in target ? 'notices' : 'cases';
      const running = await reachRunningHost(dataDirOf(opts));
      if (running?.httpUrl) {
        await postJson(`${running.httpUrl}/${kind}/${encodeURIComponent(id)}/${action}`, { by, reason: opts.reason }, dataDirOf(opts));
        return out(`${action}: ${id} (through the running host, pid ${running.pid})`);
      }
      await withCommandHost(await hostConfig(opts), async (host) => {
        const r = await control(host.deps, id, action, by, opts.reason);
        out(`${action}: ${id} ${RECORDED_ONLY}; ${r.notices} notice(s), ${r.cases} case(s)${r.escalatedTo.length ? `; new notices ${r.escalatedTo.join(', ')}` : ''}`);
      });
    });
  }
}
