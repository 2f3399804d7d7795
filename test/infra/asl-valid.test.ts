import { describe, expect, it } from 'vitest';
import aslValidator from 'asl-validator';
import { loadDefinition } from '../../lib/adapters/local-sfn/workflows.local.js';
import { WORKFLOW_NAMES, type WorkflowName } from '../../lib/core/ports.js';

const WORKFLOWS: readonly WorkflowName[] = WORKFLOW_NAMES;
type State = { Type: string; Comment?: string; Next?: string };

describe('the shipped ASL', () => {
  it.each(WORKFLOWS)('%s validates with asl-validator once its placeholders are filled', (name) => {
    const result = aslValidator(loadDefinition(name), { checkArn: true, checkPaths: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('is refused by the validator when a transition points nowhere (the check can fail)', () => {
    const broken = structuredClone(loadDefinition('notice')) as { States: Record<string, State> };
    broken.States.SendNotice!.Next = 'NoSuchState';
    expect(aslValidator(broken, { checkArn: true, checkPaths: true }).isValid).toBe(false);
  });

  it.each(WORKFLOWS)('%s names its states without spaces and says the intent of each in a Comment', (name) => {
    const states = (loadDefinition(name) as { States: Record<string, State> }).States;
    for (const [stateName, state] of Object.entries(states)) {
      expect(stateName).toMatch(/^[A-Za-z0-9]+$/);
      expect(state.Comment, `${name}.${stateName} has no Comment`).toBeTruthy();
    }
  });
});
