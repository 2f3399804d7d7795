import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const ROOT = join(import.meta.dirname, '../../..');

/** The account and region the harness's stack is synthesised for (a documentation account id). */
export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const STACK_NAME = 'Takedown';

/** What the test deployment is configured with: `-c name=value` as an operator would pass them. */
export const TEST_CONTEXT = {
  replyMailbox: 'takedown@reply.example',
  fromAddress: 'cert@takedown.example',
  inboundDomain: 'reply.example',
  evidenceRetentionDays: '1',
  directoryFile: 'test/aws/fixtures/directory.yaml',
  // escalations gather for a second, not ten minutes: the scenarios run on the real clock
  escalationWindowSeconds: '1',
  // small enough that a notice of a few thousand indicators goes in parts, as one of 20,000 does at 10 MB
  maxMessageBytes: '2000000',
} as const;

// everything the synthesised app is made of: a change to any of it is a new cloud assembly
const SOURCES = ['bin/cdk.ts', 'lib', 'lambdas', 'workflows', 'templates', 'test/aws/fixtures', 'package-lock.json', 'cdk.json'];

function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => filesUnder(join(path, name)));
}

function sourceHash(): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(TEST_CONTEXT));
  for (const file of SOURCES.flatMap((s) => filesUnder(join(ROOT, s)))) {
    hash.update(relative(ROOT, file));
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * The context `cdk synth` hands the app: cdk.json's feature flags, the test settings, and what the CLI itself adds
 * (asset metadata, which tells where each function's bundle was written; every stack bundled).
 */
function cliContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  return {
    ...cdkJson.context,
    ...TEST_CONTEXT,
    'aws:cdk:enable-path-metadata': true,
    'aws:cdk:enable-asset-metadata': true,
    'aws:cdk:bundling-stacks': ['**'],
  };
}

/** Whether a synth lock belongs to no living process: its pid is gone, or it has none and is a minute old. */
function orphaned(lock: string): boolean {
  try {
    const pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return false;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return true;
    if (code !== 'ENOENT') return false;
    // no pid yet: being written now, or a lock from before pids were written
    try {
      return Date.now() - statSync(lock).mtimeMs > 60_000;
    } catch {
      return false;
    }
  }
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * The cloud assembly of `bin/cdk.ts` for the test deployment, synthesised once per change of its sources: the
 * folder is keyed by a hash of them, and a lock folder keeps two test workers from synthesising it together.
 * The app runs as `cdk synth` runs it (cdk.json's "app" command, CDK_OUTDIR and CDK_CONTEXT_JSON), offline.
 */
export async function synthesize(): Promise<string> {
  const cache = join(ROOT, 'node_modules/.cache/takedown-aws');
  mkdirSync(cache, { recursive: true });
  const key = sourceHash();
  const out = join(cache, key);
  const lock = join(cache, `${key}.lock`);
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (existsSync(join(out, `${STACK_NAME}.template.json`))) return out;
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      // another worker synthesises it; the lock of a worker that died (a run killed mid-synth) is taken over at
      // once: waiting out the deadline would take every AWS test file's whole hook timeout
      if (Date.now() > deadline || orphaned(lock)) rmSync(lock, { recursive: true, force: true });
      await sleep(250);
    }
  }
  try {
    if (existsSync(join(out, `${STACK_NAME}.template.json`))) return out;
    const staging = `${out}.staging`;
    rmSync(staging, { recursive: true, force: true });
    await run('npx', ['tsx', 'bin/cdk.ts'], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        CDK_OUTDIR: staging,
        CDK_CONTEXT_JSON: JSON.stringify(cliContext()),
        CDK_DEFAULT_ACCOUNT: ACCOUNT,
        CDK_DEFAULT_REGION: REGION,
        // nothing of the synthesis may reach for credentials or instance metadata
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    renameSync(staging, out);
    writeFileSync(join(out, 'synthesised-at'), new Date().toISOString());
    // older assemblies of this worktree go: each is tens of megabytes
    for (const name of readdirSync(cache)) if (name !== key && !name.endsWith('.lock')) rmSync(join(cache, name), { recursive: true, force: true });
    return out;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
