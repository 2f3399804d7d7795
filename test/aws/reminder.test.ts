import { describe, expect, it } from 'vitest';
import { campaignView, sentTo, submitCampaign, useAccount } from './support.js';

/*
 * The notice workflow's clock on AWS: nobody answers, the stored deadline passes, the reminder is refused by
 * SES for good, and the notice goes to the party's fallback mailbox from the directory (bundled into the route
 * function) as a notice execution of its own.
 */
const { account } = useAccount();

const DAY = 86_400_000;

describe('a refused reminder on the AWS host', () => {
  it('sends the notice to the fallback mailbox of the directory, in an execution of its own', async () => {
    const aws = account();
    const id = await submitCampaign(aws, ['198.51.100.20,ip,CI,c2 server'], { name: 'Reminder' });
    await aws.waitFor('the notice', () => sentTo(aws, 'abuse@demo-dc.example')[0]);
    await aws.waitFor('the answer wait', () => aws.sfn.waiting().length === 1 || undefined);
    // the desk's mailbox starts refusing; the answer deadline passes with no answer
    aws.services.refuse('abuse@demo-dc.example');
    // a day at a time: each wait that ends decides between a reminder and escalation from the stored deadline
    const rerouted = () => sentTo(aws, 'noc@demo-dc.example')[0];
    for (let day = 0; day < 6; day++) {
      await aws.waitFor('a wait for an answer', () => aws.sfn.waiting().length > 0 || rerouted());
      if (rerouted()) break;
      await aws.advanceClock(DAY);
    }
    const fallback = await aws.waitFor('the fallback\'s notice', rerouted);
    expect(fallback.raw).toMatch(/198\.51\.100\.20/);
    // the first notice went once; the reminder was refused, so SES holds nothing more for the desk
    expect(sentTo(aws, 'abuse@demo-dc.example')).toHaveLength(1);
    // the same notice, rerouted, runs as its next round: an execution of its own that waits for the answer
    const [notice] = (await campaignView(aws, id)).notices;
    const rounds = await aws.waitFor('the next round waiting', () => {
      const own = aws.executions('notice').filter((e) => e.name.startsWith(`notice-${notice!.id}-`));
      return own.length === 2 && own[1]!.path.includes('AwaitAnswer') ? own : undefined;
    });
    expect(rounds.map((e) => e.name)).toEqual([`notice-${notice!.id}-r1`, `notice-${notice!.id}-r2`]);
    await rounds[0]!.done;
    expect(rounds[0]!.path).toContain('Undeliverable');
    expect(rounds[0]!.status).toBe('SUCCEEDED');
    expect(rounds[1]!.status).toBe('RUNNING');
    expect(aws.denials()).toEqual([]);
  }, 60_000);
});
