import { readSubmission, type SubmitCampaignInput } from './submit.js';
import type { Deps, Store } from '../ports.js';
import { decideRoute, PlanBuilder, type Plan } from '../routing/index.js';

/** What a dry run may touch: the party lookups (whose caches may fill) and, to read only, the store. */
export type PlanDeps = Pick<Deps, 'parties' | 'clock' | 'settings'> & {
  /** absent when there is no store yet: nothing can be open elsewhere then */
  readonly store?: Pick<Store, 'findCasesByIndicator'>;
};

/**
 * The routing plan a submission would get, without storing or sending anything: the same intake, TLP gate and
 * routing as `submitCampaign` and `routeCampaign`, and a plan that says per recipient what it would receive
 * and why, and what would not go out and why. A file with nothing to notify gives an empty plan that says why.
 */
export async function planSubmission(deps: PlanDeps, raw: SubmitCampaignInput): Promise<Plan> {
  const builder = new PlanBuilder();
  const size = Math.max(1, deps.settings.pageSize);
  // routed as the file is read, a batch at a time: only the plan itself grows with the file
  const submission = await readSubmission(deps, raw, {
    allowEmpty: true,
    onFresh: async (fresh, _seq, head) => {
      const policy = { campaignTlp: head.tlp, campaignTlpFrom: head.tlpFrom, permission: head.tlpPermission, routing: deps.settings.routing };
      for (let i = 0; i < fresh.length; i += size) {
        const page = fresh.slice(i, i + size);
        const found = await deps.parties.resolve(page);
        page.forEach((indicator, j) => builder.add(decideRoute(indicator, found[j] ?? {}, policy)));
      }
    },
  });
  const { input, intake } = submission;
  return builder.build({
    campaign: {
      name: input.name,
      tlp: submission.tlp,
      tlpFrom: submission.tlpFrom,
      ...(submission.tlpPermission ? { tlpPermission: submission.tlpPermission } : {}),
      format: intake.format,
      ...(input.sourceName ? { sourceName: input.sourceName } : {}),
    },
    counts: {
      submitted: intake.unique + intake.duplicates.length,
      accepted: submission.freshCount,
      duplicates: intake.duplicates.length,
      alreadyOpen: submission.alreadyOpen.length,
      excluded: intake.excluded.length,
      skipped: intake.skipped.length,
    },
    excluded: intake.excluded,
    skipped: intake.skipped,
    duplicates: intake.duplicates,
    alreadyOpen: submission.alreadyOpen,
  });
}
