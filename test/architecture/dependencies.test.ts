import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The dependency rules of .dependency-cruiser.cjs hold on the tree, and each of them can fail: a copy of the tree
 * gets one planted file per rule that breaks it, and the cruise must name that rule for that file.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);
const config = require(join(ROOT, '.dependency-cruiser.cjs')) as {
  forbidden: { name: string }[];
  CONTEXT_LAYERS: Record<string, string[]>;
};
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const SCOPE = ['lib', 'lambdas', 'bin', 'bench'];

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string };
  readonly cycle?: readonly unknown[];
}

function cruise(cwd: string): Promise<{ violations: Violation[]; modules: number }> {
  return new Promise((ok, fail) => {
    execFile(
      process.execPath,
      [DEPCRUISE, ...SCOPE, '--config', '.dependency-cruiser.cjs', '--output-type', 'json'],
      { cwd, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        // violations make it exit non-zero: the JSON is the verdict, a missing one is the failure
        try {
          const result = JSON.parse(stdout) as { summary: { violations: Violation[]; totalCruised: number } };
          ok({ violations: result.summary.violations, modules: result.summary.totalCruised });
        } catch {
          fail(new Error(`dependency-cruiser gave no report: ${stderr || error?.message}`));
        }
      },
    );
  });
}

/** One file per rule, each breaking it. Keys: the rule; value: the planted file and its text. */
function plants(): Record<string, { file: string; text: string }[]> {
  const layerPlants = Object.fromEntries(
    Object.keys(config.CONTEXT_LAYERS).map((context) => [
      `context-layers-${context}`,
      // a context nobody placed in the layers may be used by no one, whatever sits above it
      [{ file: `lib/core/${context}/zz-layer.ts`, text: "export { unplaced } from '../zz-unplaced/index.js';\n" }],
    ]),
  );
  return {
    'core-is-pure': [{ file: 'lib/core/notices/zz-io.ts', text: "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n" }],
    'core-uses-no-outer-layer': [{ file: 'lib/core/routing/zz-adapter.ts', text: "export { SqliteStore } from '../../adapters/sqlite/store.sqlite.js';\n" }],
    'contexts-meet-through-index': [{ file: 'lib/core/answers/zz-deep.ts', text: "export { sendNotice } from '../notices/sending/send.js';\n" }],
    'hosts-use-contexts-through-index': [{ file: 'lib/adapters/zz-deep.ts', text: "export { sendNotice } from '../core/notices/sending/send.js';\n" }],
    'kernel-uses-no-context': [{ file: 'lib/core/zz-kernel.ts', text: "export { sendNotice } from './notices/index.js';\n" }],
    ...layerPlants,
    'no-circular': [
      { file: 'lib/core/audit/zz-a.ts', text: "import { b } from './zz-b.js';\nexport const a = (): number => b() + 1;\n" },
      { file: 'lib/core/audit/zz-b.ts', text: "import { a } from './zz-a.js';\nexport const b = (): number => a() - 1;\n" },
    ],
    'adapters-stay-out-of-hosts': [{ file: 'lib/adapters/zz-host.ts', text: "export { startHost } from '../local/host.js';\n" }],
    'no-unresolvable': [{ file: 'lib/adapters/zz-missing.ts', text: "export { nothing } from './no-such-module.js';\n" }],
  };
}

describe('the dependency rules', () => {
  let copy: string;

  beforeAll(() => {
    copy = mkdtempSync(join(tmpdir(), 'takedown-deps-'));
    for (const dir of SCOPE) cpSync(join(ROOT, dir), join(copy, dir), { recursive: true });
    // the AWS bench runs the offline AWS account of the tests (bench/aws.ts): what it imports must resolve
    for (const dir of ['test/aws/harness', 'test/support']) cpSync(join(ROOT, dir), join(copy, dir), { recursive: true });
    for (const file of ['tsconfig.json', '.dependency-cruiser.cjs', 'package.json']) cpSync(join(ROOT, file), join(copy, file));
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
    mkdirSync(join(copy, 'lib/core/zz-unplaced'));
    writeFileSync(join(copy, 'lib/core/zz-unplaced/index.ts'), 'export const unplaced = 1;\n');
    for (const planted of Object.values(plants()).flat()) {
      mkdirSync(dirname(join(copy, planted.file)), { recursive: true });
      writeFileSync(join(copy, planted.file), planted.text);
    }
  });

  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('hold on the whole tree: no violation of any rule', async () => {
    const { violations, modules } = await cruise(ROOT);
    expect(modules).toBeGreaterThan(100);
    expect(violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)).toEqual([]);
  });

  it('each fail on a file planted to break it', async () => {
    const planted = plants();
    // a rule added without a way to show it failing is caught here
    expect(Object.keys(planted).sort()).toEqual(config.forbidden.map((r) => r.name).sort());
    const { violations } = await cruise(copy);
    for (const [rule, files] of Object.entries(planted)) {
      const hits = violations.filter((v) => v.rule.name === rule).map((v) => v.from);
      // a circle is reported once, from one of its files
      expect(files.some(({ file }) => hits.includes(file)), `${rule} must flag ${files.map((f) => f.file).join(' or ')}`).toBe(true);
    }
    // and nothing but the planted files is flagged: the tree itself is clean
    const plantedFiles = new Set(Object.values(planted).flat().map((p) => p.file));
    expect(violations.filter((v) => !plantedFiles.has(v.from)).map((v) => `${v.rule.name}: ${v.from}`)).toEqual([]);
  });
});
