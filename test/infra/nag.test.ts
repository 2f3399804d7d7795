import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { CfnStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { TakedownStack, type TakedownStackProps } from '../../lib/infra/stack.js';

const ROOT = join(import.meta.dirname, '../..');

/** Every optional part on: SES receiving, the evidence bucket, the SES events. */
const FULL: TakedownStackProps = {
  replyMailbox: 'takedown@reply.example',
  fromAddress: 'cert@takedown.example',
  inboundDomain: 'reply.example',
  evidenceBucket: { retentionDays: 30 },
};

/**
 * The AwsSolutions findings cdk-nag reports for a stack, as `rule construct-path`, after the acknowledgments
 * written next to the constructs (lib/infra/nag.ts). `breakIt` changes the stack before synthesis.
 */
function findings(props: TakedownStackProps, breakIt: (stack: TakedownStack) => void = () => {}): string[] {
  // the feature flags of `cdk synth`; nothing bundled: the rules read the template only
  const context = { ...JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context, 'aws:cdk:bundling-stacks': [] };
  const app = new App({ context });
  breakIt(new TakedownStack(app, 'Nag', props));
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  try {
    app.synth();
  } catch (error) {
    // a violation stops synthesis; the report says which
    if (!String(error).includes('ValidationFailed')) throw error;
  }
  const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: { violations?: { ruleName: string; violatingConstructs?: { constructPath: string }[] }[] }[];
  };
  return report.pluginReports.flatMap((r) => r.violations ?? []).flatMap((v) => (v.violatingConstructs ?? [{ constructPath: '?' }]).map((c) => `${v.ruleName} ${c.constructPath}`));
}

describe('cdk-nag AwsSolutions on the stack', () => {
  it('finds nothing that is not acknowledged with its reason, with every optional part on', () => {
    expect(findings(FULL)).toEqual([]);
  }, 120_000);

  it('finds nothing in the smallest stack either', () => {
    expect(findings({ replyMailbox: 'takedown@reply.example', fromAddress: 'cert@takedown.example', sesEvents: false })).toEqual([]);
  }, 120_000);

  it('reports a rule broken: the HTTP API stage without access logs', () => {
    const found = findings(FULL, (stack) => {
      (stack.http.stage.node.defaultChild as CfnStage).accessLogSettings = undefined;
    });
    expect(found).toEqual([expect.stringMatching(/^AwsSolutions-APIG1 Nag\/Http\/DefaultStage/)]);
  }, 120_000);
});
