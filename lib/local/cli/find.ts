import type { Command } from 'commander';
import type { Case } from '../../core/model.js';
import type { Host } from '../host.js';
import { summary, table } from './shared/terminal.js';
import { dataDirOf, out } from './shared/options.js';
import { openStore } from './shared/store.js';

/**
 * `takedown find <anything>`: an indicator as written (defanged, any case), a campaign, notice or case id, a
 * `TKD-…` tag, a recipient's address or a party. One case found is told as its story; more are listed.
 */

const party = (c: Case) => (c.ladder[c.step] ?? c.ladder[0]!).party;

/** Run `find` (also what `status` does with anything that is not a campaign id). */
export async function findCommand(query: string, opts: { dataDir?: string; json?: boolean }): Promise<void> {
  const dataDir = dataDirOf(opts);
  const store = await openStore(dataDir);
  try {
    const { search } = await import('../../core/reports/index.js');
    const deps = { store } as unknown as Host['deps'];
    const result = await search(deps, { q: query });
    if (result.cases.length === 1 && (result.readAs === 'case' || result.readAs === 'indicator')) {
      const { caseStory } = await import('../../core/audit/index.js');
      const story = await caseStory(deps, result.cases[0]!.id);
      if (opts.json) {
        return out(JSON.stringify({ ...result, notices: result.notices.map(({ taskToken: _t, tokenHash: _h, ...n }) => n), story: story.lines.map((l) => ({ at: l.at, text: l.text, tone: l.tone })), ...(story.disagreement ? { disagreement: story.disagreement } : {}) }, null, 2));
      }
      const c = story.timeline.case;
      const p = party(c);
      out(
        summary([
          ['case', c.id],
          ['indicator', `${c.indicator.value} (${c.indicator.kind})`],
          ['campaign', `${story.timeline.campaign?.name ?? ''} ${c.campaignId}`.trim()],
          ['state', `${c.state}${c.reason ? ` (${c.reason})` : ''}`],
          ['party', `${p.name} <${p.email}> (${p.kind})`],
          ...(story.timeline.notice ? ([['notice', `${story.timeline.notice.tag} ${story.timeline.notice.state}`]] as [string, string][]) : []),
          ...(c.probe ? ([['last probe', `${c.probe.at} ${c.probe.live ? 'live' : 'down'}: ${c.probe.detail}`]] as [string, string][]) : []),
        ]),
      );
      if (story.disagreement) {
        const { fillTemplate } = await import('../../core/audit/index.js');
        out(`\nTHEY DISAGREE: ${fillTemplate(story.disagreement.template, story.disagreement.values)}`);
      }
      out('\nwhat happened:');
      for (const l of story.lines.filter((x) => !x.bookkeeping)) out(`  ${l.at.replace('T', ' ').slice(0, 19)}  ${l.text}`);
      const others = result.cases.length > 1 ? result.cases.length - 1 : 0;
      if (others) out(`\n(${others} more case(s) of this indicator: takedown find ${c.indicator.value} --json)`);
      return;
    }
    if (opts.json) return out(JSON.stringify({ ...result, notices: result.notices.map(({ taskToken: _t, tokenHash: _h, ...n }) => n) }, null, 2));
    const readAs = { campaign: 'a campaign id', notice: 'a notice id or tag', case: 'a case id', indicator: `the indicator ${result.indicator ?? ''}`, party: 'a recipient or party' }[result.readAs];
    if (!result.campaigns.length && !result.notices.length && !result.cases.length) {
      out(`nothing found in ${dataDir} for ${query} (read as ${readAs})`);
      process.exitCode = 1;
      return;
    }
    out(`read as ${readAs}`);
    if (result.campaigns.length) {
      out('\ncampaigns:');
      out(table(['campaign', 'name', 'state', 'created'], result.campaigns.map((c) => [c.id, c.name, c.state, c.createdAt])));
    }
    if (result.notices.length) {
      out('\nnotices:');
      out(table(['notice', 'tag', 'recipient', 'state', 'cases', 'campaign'], result.notices.map((n) => [n.id, n.tag, `${n.party.name} <${n.party.email}>`, n.state, n.caseCount, n.campaignId])));
    }
    if (result.cases.length) {
      out('\ncases:');
      out(table(['case', 'indicator', 'party', 'state', 'campaign'], result.cases.map((c) => [c.id, c.indicator.value, party(c).name, c.state, c.campaignId])));
      out(`\none case's story: takedown find <case id> --data-dir ${dataDir}`);
    }
    if (result.truncated) out('(more were found than are shown)');
  } finally {
    store.close();
  }
}

/** Adds `find`. */
export function addFindCommand(prog: Command): void {
  prog
    .command('find')
    .argument('<query>', 'an indicator (as written, even defanged), a campaign (cmp_…), notice (n…) or case (c…) id, a TKD- tag, a recipient address or a party name or id')
    .description('find anything: one case is told as its story (what was sent to whom, what they said, what the probes saw), more are listed')
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .option('--json', 'machine-readable output')
    .action(async (query: string, opts: { dataDir?: string; json?: boolean }) => findCommand(query, opts));
}
