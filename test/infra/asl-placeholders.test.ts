import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WORKFLOW_ERROR_NAMES } from '../../lib/core/errors.js';
import { placeholderOf, TASK_NAMES } from '../../lib/core/tasks.js';
import { loadDefinition } from '../../lib/adapters/local-sfn/workflows.local.js';
import { PARTITION_PLACEHOLDER } from '../../lib/infra/workflow.js';

const DIR = join(import.meta.dirname, '../../workflows');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.asl.json'));
const TEXTS = new Map(FILES.map((f) => [f, readFileSync(join(DIR, f), 'utf8')]));

function placeholders(text: string): string[] {
  return [...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1] as string);
}

/**
 * What Step Functions reports when a task's function died rather than threw: its process exited (Runtime.ExitError),
 * ran out of memory (Runtime.OutOfMemory), reached the function's timeout (Sandbox.Timedout), or no error type came
 * back at all (Lambda.Unknown).
 */
const FUNCTION_DIED = ['Lambda.Unknown', 'Runtime.ExitError', 'Runtime.OutOfMemory', 'Sandbox.Timedout'];

/** Every ErrorEquals list anywhere in a definition (Retry and Catch, nested Map and Parallel states too). */
function errorNames(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(errorNames);
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === 'ErrorEquals' && Array.isArray(value) ? (value as string[]) : errorNames(value),
  );
}

describe('the workflow definitions', () => {
  it('are the campaign, notice and verify workflows', () => {
    expect(FILES.sort()).toEqual(['campaign.asl.json', 'notice.asl.json', 'verify.asl.json']);
  });

  it('name only task functions and the partition in their placeholders', () => {
    const known = new Set([...TASK_NAMES.map(placeholderOf), PARTITION_PLACEHOLDER]);
    for (const [file, text] of TEXTS) {
      const found = placeholders(text);
      expect(found.length, file).toBeGreaterThan(0);
      expect(found.filter((p) => !known.has(p)), file).toEqual([]);
    }
  });

  it('use every task somewhere', () => {
    const used = new Set([...TEXTS.values()].flatMap(placeholders));
    expect(TASK_NAMES.filter((t) => !used.has(placeholderOf(t)))).toEqual([]);
  });

  it('match only errors the code can throw, or States.* and Lambda.* ones, and the Lambda runtime\'s for a function that died', () => {
    const allowed = new Set<string>(WORKFLOW_ERROR_NAMES);
    for (const [file, text] of TEXTS) {
      const names = errorNames(JSON.parse(text));
      expect(names.length, file).toBeGreaterThan(0);
      expect(names.filter((n) => !/^(States|Lambda)\.\w+$/.test(n) && !FUNCTION_DIED.includes(n) && !allowed.has(n)), file).toEqual([]);
    }
  });

  it('never spell out a partition: every service ARN takes it from ${Partition}', () => {
    for (const [file, text] of TEXTS) expect(text.match(/arn:aws[a-z-]*:/g) ?? [], file).toEqual([]);
  });

  it('are filled completely on the embedded host', () => {
    for (const workflow of ['campaign', 'notice', 'verify'] as const) {
      const text = JSON.stringify(loadDefinition(workflow));
      expect(text, workflow).not.toMatch(/\$\{/);
      if (TEXTS.get(`${workflow}.asl.json`)!.includes('${Partition}')) expect(text, workflow).toContain('arn:aws:states:::');
    }
  });

  it('retry every Task whose function died: a crash, out of memory, its timeout (the task\'s own is longer)', () => {
    for (const [file, text] of TEXTS) {
      const states = JSON.parse(text).States as Record<string, { Type: string; Retry?: { ErrorEquals: string[]; MaxAttempts?: number }[] }>;
      for (const [name, state] of Object.entries(states)) {
        if (state.Type !== 'Task') continue;
        // the first retrier that names the error is the one that applies
        const first = (error: string) => (state.Retry ?? []).find((r) => r.ErrorEquals.includes(error) || r.ErrorEquals.includes('States.ALL'));
        for (const error of FUNCTION_DIED) expect(first(error)?.MaxAttempts ?? 0, `${file} ${name} ${error}`).toBeGreaterThan(0);
      }
    }
  });

  it('retry every Task on Lambda\'s and the services\' throttling', () => {
    const throttling = ['Lambda.TooManyRequestsException', 'Lambda.ServiceException', 'Lambda.SdkClientException', 'Lambda.AWSLambdaException', 'ThrottledError'];
    for (const [file, text] of TEXTS) {
      const states = JSON.parse(text).States as Record<string, { Type: string; Retry?: { ErrorEquals: string[] }[] }>;
      for (const [name, state] of Object.entries(states)) {
        if (state.Type !== 'Task') continue;
        const retried = (state.Retry ?? []).flatMap((r) => r.ErrorEquals);
        expect(throttling.filter((t) => !retried.includes(t)), `${file} ${name}`).toEqual([]);
      }
    }
  });
});
