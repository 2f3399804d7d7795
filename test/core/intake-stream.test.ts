import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { submitCampaign } from '../../lib/core/campaign/submit.js';
import { UploadCursor, createUpload, readUploadStep, submitUpload } from '../../lib/core/campaign/upload.js';
import { listAll } from '../../lib/core/paging.js';
import { InvalidInputError } from '../../lib/core/errors.js';
import { READ_ONCE, parseIndicators, readIndicators, type IntakeOptions } from '../../lib/core/intake/intake.js';
import { JsonScanError, JsonStreamScanner, scanJson } from '../../lib/core/intake/formats/json-scan.js';
import type { Indicator } from '../../lib/core/model.js';
import type { Deps } from '../../lib/core/ports.js';
import { textSource, type TextSource } from '../../lib/core/intake/text-source.js';
import { SqliteStore } from '../../lib/adapters/sqlite/store.sqlite.js';
import { intakeDeps } from '../support/intake-deps.js';
import { fileSource } from '../../lib/local/file-source.js';
import { STIX } from '../support/fixtures.js';

const NOW = new Date('2025-06-01T00:00:00Z');
const corpus = (name: string): string => readFileSync(join(STIX, name), 'utf8');
const EXAMPLE_CSV = readFileSync(new URL('../../examples/campaign.csv', import.meta.url), 'utf8');
const DIRECTORY = new URL('../../examples/directory.yaml', import.meta.url).pathname;

/** The text as UTF-8 bytes cut every `size` bytes: a cut falls inside multi-byte characters. */
function bytesOf(text: string, size: number): TextSource {
  const bytes = new TextEncoder().encode(text);
  return {
    async *chunks() {
      for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
    },
  };
}

/** Everything readIndicators gives, the batches put back together. */
async function readAll(source: TextSource, opts: IntakeOptions = {}, batchSize?: number) {
  const indicators: Indicator[] = [];
  const batches: number[] = [];
  const lasts: boolean[] = [];
  const summary = await readIndicators(
    source,
    { now: NOW, ...opts },
    async (batch, last) => {
      batches.push(batch.length);
      lasts.push(last);
      for (const i of batch) indicators.push(i);
    },
    batchSize,
  );
  return { summary, indicators, batches, lasts };
}

/** What readAll gives, or the error it throws (message and issues). */
async function outcomeOf(run: () => Promise<Awaited<ReturnType<typeof readAll>>>) {
  try {
    const { summary, indicators } = await run();
    return { summary, indicators };
  } catch (e) {
    return { error: (e as Error).message, issues: e instanceof InvalidInputError ? e.issues : undefined };
  }
}

/** Read twice at every size (no indicators kept from the first reading): what a file larger than READ_ONCE gets. */
const TWICE = { readOnce: { chars: 0, indicators: 0 } } as const;

/**
 * readAll, after checking that a small file read once (its indicators kept from the checking reading) gives
 * exactly what it gives when read twice, refusals included: every test through here covers both paths.
 */
async function streamed(source: TextSource, opts: IntakeOptions = {}, batchSize?: number) {
  const twice = await outcomeOf(() => readAll(source, { ...opts, ...TWICE }, batchSize));
  expect(await outcomeOf(() => readAll(source, opts, batchSize)), 'read once vs twice').toEqual(twice);
  return readAll(source, opts, batchSize);
}

/** What parseIndicators gives for the whole text, in the same shape. */
function whole(text: string, opts: IntakeOptions = {}) {
  const { indicators, ...summary } = parseIndicators(text, { now: NOW, ...opts });
  return { summary, indicators };
}

async function refusal(run: () => Promise<unknown>): Promise<InvalidInputError> {
  try {
    await run();
  } catch (e) {
    if (e instanceof InvalidInputError) return e;
    throw e;
  }
  throw new Error('expected InvalidInputError');
}

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
function indicator(n: number, pattern: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'indicator', spec_version: '2.1', id: `indicator--${uuid(n)}`, created: '2024-01-01T00:00:00.000Z', modified: '2024-01-01T00:00:00.000Z', pattern, pattern_type: 'stix', valid_from: '2024-01-01T00:00:00Z', ...extra };
}
const bundle = (...objects: Record<string, unknown>[]) => JSON.stringify({ type: 'bundle', id: `bundle--${uuid(999)}`, objects }, null, 1);

/** Quoted fields with commas, doubled quotes and line breaks; characters of 2, 3 and 4 bytes; CRLF; an IDN. */
const CSV = [
  '\uFEFFindicator,type,evidence,tlp',
  '192.0.2.10,ip,"Überweisung, 支付 — ""verify"" 😀",green',
  'bücher.example,domain,"two\r\nlines, ünïcode",',
  '',
  '"http://evil.example/a?x=1,2",url,"said ""hi""",amber',
  '192.0.2.10,ip,again but red,red',
  '"hxxp://evil[.]example/a?x=1,2",url,spelled otherwise,',
].join('\r\n');

describe('readIndicators', () => {
  it('reads a CSV cut anywhere, inside a quoted field and inside a multi-byte character, as it reads the whole text', async () => {
    const expected = whole(CSV);
    expect(expected.indicators.map((i) => [i.origin, i.value, i.evidence, i.tlp])).toEqual([
      ['line 2', '192.0.2.10', 'Überweisung, 支付 — "verify" 😀', 'RED'],
      ['line 3', 'xn--bcher-kva.example', 'two\r\nlines, ünïcode', undefined],
      ['line 6', 'http://evil.example/a?x=1,2', 'said "hi"', 'AMBER'],
    ]);
    for (let size = 1; size <= 23; size++) {
      const got = await streamed(bytesOf(CSV, size));
      expect(got.indicators, `cut every ${size} bytes`).toEqual(expected.indicators);
      expect(got.summary, `cut every ${size} bytes`).toEqual(expected.summary);
    }
    for (const size of [1, 2, 5, 64]) expect((await streamed(textSource(CSV, size))).indicators).toEqual(expected.indicators);
    expect(expected.summary.duplicates).toEqual([
      { origin: 'line 7', value: '192.0.2.10', firstOrigin: 'line 2' },
      { origin: 'line 8', value: 'http://evil.example/a?x=1,2', firstOrigin: 'line 6' },
    ]);
  });

  it('reads the example CSV and a list with CR, LF and CRLF line ends cut anywhere, with the same lines', async () => {
    const list = '# feed\r192.0.2.1\r\n\r\nevil[.]example  # note\n192.0.2.300\r\n//x\rhttp://a.example/#frag';
    for (const [text, opts] of [[EXAMPLE_CSV, {}], [list, { skipInvalid: true }]] as const) {
      const expected = whole(text, opts);
      for (const size of [1, 2, 3, 7, 1000]) {
        const got = await streamed(bytesOf(text, size), opts);
        expect(got.indicators).toEqual(expected.indicators);
        expect(got.summary).toEqual(expected.summary);
      }
    }
    expect(whole(list, { skipInvalid: true }).summary.skipped).toEqual([{ where: 'line 5', reason: "'192.0.2.300': an IPv4 part is over 255" }]);
  });

  it('reads STIX bundles cut anywhere as it reads the whole text', async () => {
    const names = ['indicator-for-c2-ip-address.json', 'infrastructure.json', 'indicators-for-C2-with-COA.json', 'indicator-to-campaign-relationship.json'];
    for (const name of names) {
      const text = corpus(name);
      const expected = whole(text, { allowEmpty: true });
      for (const size of [1, 9, 4096]) {
        const got = await streamed(bytesOf(text, size), { allowEmpty: true });
        expect(got.indicators, name).toEqual(expected.indicators);
        expect(got.summary, name).toEqual(expected.summary);
      }
    }
  });

  it('accepts nothing from a streamed file whose last line is bad, and names that line', async () => {
    const lines = ['indicator,type'];
    for (let i = 0; i < 3000; i++) lines.push(`198.51.${Math.floor(i / 250)}.${i % 250},ip`);
    lines.push('192.0.2.300,ip');
    let batches = 0;
    const error = await refusal(() => readIndicators(bytesOf(lines.join('\n'), 4096), { now: NOW }, async () => void batches++));
    expect(error.issues).toEqual([{ where: 'line 3002', reason: "'192.0.2.300' declared as ip: an IPv4 part is over 255; expected an IPv4 or IPv6 address, like 192.0.2.1 or 2001:db8::1" }]);
    expect(batches).toBe(0);
  });

  it('hands the indicators out in batches, as the file is read again or from what was kept, not all at once', async () => {
    const text = Array.from({ length: 5000 }, (_, i) => `203.0.${Math.floor(i / 250)}.${i % 250}`).join('\n');
    for (const opts of [{}, TWICE]) {
      const got = await readAll(bytesOf(text, 1024), opts, 500);
      expect(got.indicators).toHaveLength(5000);
      expect(got.batches.length).toBeGreaterThanOrEqual(10);
      expect(Math.max(...got.batches)).toBeLessThan(1000);
      // only the last batch says it is, when it is known: always from what was kept
      expect(got.lasts.slice(0, -1)).not.toContain(true);
      if (opts === TWICE) continue;
      expect(got.batches).toEqual(Array.from({ length: 10 }, () => 500));
      expect(got.lasts.at(-1)).toBe(true);
    }
  });

  it('reads a small file once, and one over either limit of READ_ONCE twice, with the same result', async () => {
    const text = Array.from({ length: 300 }, (_, i) => `203.0.${Math.floor(i / 250)}.${i % 250}`).join('\n');
    const counting = () => {
      const source = { reads: 0, chunks: () => (source.reads++, textSource(text, 64).chunks()) };
      return source;
    };
    const cases = [
      [READ_ONCE, 1],
      [{ chars: text.length, indicators: 300 }, 1],
      [{ chars: text.length - 1, indicators: 300 }, 2],
      [{ chars: text.length, indicators: 299 }, 2],
    ] as const;
    const results = [];
    for (const [readOnce, reads] of cases) {
      const source = counting();
      results.push(await readAll(source, { readOnce }));
      expect(source.reads, JSON.stringify(readOnce)).toBe(reads);
    }
    for (const r of results) expect(r.indicators).toEqual(results[0]!.indicators);
    expect(results[0]!.indicators).toHaveLength(300);
    expect(READ_ONCE.chars).toBeGreaterThan(text.length);
  });

  it('gives a kept indicator the stricter marking of a later duplicate, and its place to the duplicate', async () => {
    const text = ['indicator,tlp', '192.0.2.1,green', '192.0.2.2,', '192.0.2.1,amber', '192.0.2.1,'].join('\n');
    const got = await streamed(textSource(text));
    expect(got.indicators.map((i) => [i.value, i.tlp, i.origin])).toEqual([['192.0.2.1', 'AMBER', 'line 2'], ['192.0.2.2', undefined, 'line 3']]);
    expect(got.summary.duplicates).toEqual([
      { origin: 'line 4', value: '192.0.2.1', firstOrigin: 'line 2' },
      { origin: 'line 5', value: '192.0.2.1', firstOrigin: 'line 2' },
    ]);
  });

  it('reads marking definitions that come after the indicators they mark', async () => {
    const red = `marking-definition--${uuid(501)}`;
    const text = bundle(
      indicator(1, "[ipv4-addr:value = '192.0.2.1']", { object_marking_refs: [red] }),
      indicator(2, "[ipv4-addr:value = '192.0.2.2']"),
      { type: 'marking-definition', spec_version: '2.1', id: red, created: '2024-01-01T00:00:00Z', definition_type: 'tlp', definition: { tlp: 'red' } },
    );
    for (const got of [whole(text), await streamed(bytesOf(text, 5))]) {
      expect(got.indicators.map((i) => [i.value, i.tlp])).toEqual([['192.0.2.1', 'RED'], ['192.0.2.2', undefined]]);
      expect(got.summary.skipped).toEqual([]);
    }
  });

  it('refuses a marking that no definition anywhere in the bundle resolves', async () => {
    const text = bundle(indicator(1, "[ipv4-addr:value = '192.0.2.1']", { object_marking_refs: [`marking-definition--${uuid(502)}`] }));
    const error = await refusal(() => streamed(bytesOf(text, 64)));
    expect(error.issues.map((i) => i.where)).toEqual([`indicator--${uuid(1)}`]);
  });

  it('keeps only the latest version of an indicator that comes twice, whichever comes first', async () => {
    const older = indicator(1, "[ipv4-addr:value = '192.0.2.1']");
    const newer = indicator(1, "[ipv4-addr:value = '192.0.2.9']", { modified: '2024-06-01T00:00:00.000Z' });
    for (const text of [bundle(older, indicator(2, "[ipv4-addr:value = '192.0.2.2']"), newer), bundle(newer, older)]) {
      for (const got of [whole(text), await streamed(bytesOf(text, 7))]) {
        expect(got.indicators.map((i) => i.value)).not.toContain('192.0.2.1');
        expect(got.indicators.map((i) => i.value)).toContain('192.0.2.9');
        expect(got.summary.duplicates).toEqual([]);
      }
    }
  });

  it('refuses a file that changes between its two readings', async () => {
    let reads = 0;
    const changing: TextSource = {
      chunks: () => {
        reads++;
        return textSource(reads === 1 ? '192.0.2.1\n192.0.2.2\n' : '192.0.2.1\n192.0.2.3\n').chunks();
      },
    };
    // only a file too big to read once is read again
    const error = await refusal(() => readAll(changing, TWICE));
    expect(error.message).toMatch(/changed while it was read/);
    expect(reads).toBe(2);
  });

  it('refuses a file longer than the limit', async () => {
    const error = await refusal(() => streamed(textSource('192.0.2.1\n'.repeat(100), 16), { maxChars: 500 }));
    expect(error.issues).toEqual([{ where: 'content', reason: 'longer than 500 characters' }]);
  });

  it('reads JSON that is not a bundle whole, as before: a MISP event, other shapes refused alike', async () => {
    const misp = JSON.stringify({ Event: { info: 'x', Tag: [{ name: 'tlp:green' }], Attribute: [{ uuid: uuid(1), type: 'ip-dst', value: '192.0.2.7', to_ids: true }] } });
    const outcome = async (run: () => Promise<{ summary: unknown; indicators: unknown }>) => {
      try {
        const { summary, indicators } = await run();
        return { summary, indicators };
      } catch (e) {
        return (e as Error).message;
      }
    };
    for (const text of [misp, '{"hello": "world"}', '[{"no": "stix"}]', '"just text"', '{"objects": [{"a": 1}], "type": "not a bundle"}']) {
      expect(await outcome(() => streamed(bytesOf(text, 3))), text).toEqual(await outcome(async () => whole(text)));
    }
    expect((await streamed(bytesOf(misp, 3))).indicators.map((i) => [i.value, i.tlp])).toEqual([['192.0.2.7', 'GREEN']]);
  });
});

describe('JsonStreamScanner', () => {
  /** Members, elements and the top-level kind, the text fed every `size` characters. */
  function scan(text: string, size: number) {
    const members: Record<string, unknown> = {};
    const elements: unknown[] = [];
    const others: unknown[] = [];
    const scanner = new JsonStreamScanner('objects', {
      member: (key, value) => void (members[key] = value),
      element: (index, _text, parse) => void (elements[index] = parse()),
      other: (value) => void others.push(value),
    });
    for (let i = 0; i < text.length; i += size) scanner.push(text.slice(i, i + size));
    scanner.end();
    return { kind: scanner.topLevel, members, elements, others };
  }

  function fault(text: string, size: number): JsonScanError {
    try {
      scan(text, size);
    } catch (e) {
      if (e instanceof JsonScanError) return e;
      throw e;
    }
    throw new Error('expected a JsonScanError');
  }

  it('gives what scanJson gives, however the text is cut', () => {
    const text = '\uFEFF{"type": "bundle", "objects": [{"a": "x]}\\"{["}, [1, [2]], "s", 3, null, -1.5e3], "id": "bundle--1", "n": 12}';
    const expected = scanJson(text, 'objects');
    if (expected.kind !== 'object' || !expected.lazy) throw new Error('expected an object with a lazy array');
    for (let size = 1; size <= text.length; size++) {
      const got = scan(text, size);
      expect(got.kind).toBe('object');
      expect(got.members).toEqual(expected.members);
      expect(got.elements).toEqual([...expected.lazy]);
    }
    expect(scan(' [ {"id": 1} , {"id": 2} ] ', 2).elements).toEqual([{ id: 1 }, { id: 2 }]);
    expect(scan('"just a string"', 4).others).toEqual(['just a string']);
    expect(scan(' 42 ', 1).others).toEqual([42]);
    expect(scan('{"objects": {"not": "an array"}}', 3).members).toEqual({ objects: { not: 'an array' } });
  });

  it('says where the text stops being JSON, and which element, wherever it is cut', () => {
    for (const size of [1, 3, 1000]) {
      expect(fault('{"a": 1,\n "b": }', size).fault).toEqual({ line: 2, column: 7 });
      expect(fault('{"objects": [{"ok": 1},\n {"bad": tru}]}', size).fault).toEqual({ line: 2, column: 2, element: 1 });
      expect(fault('{"a": 1} trailing', size).fault).toEqual({ line: 1, column: 10 });
      expect(fault('{"a": "unclosed', size).fault).toMatchObject({ line: 1 });
      expect(fault('[1, 2', size).fault).toMatchObject({ line: 1 });
      expect(fault('{\n "objects": [ {"x": 1 ]\n}', size).fault).toEqual({ line: 2, column: 23 });
      expect(fault('[1,]', size).fault).toEqual({ line: 1, column: 4 });
      expect(fault('', size).fault).toEqual({ line: 1, column: 1 });
    }
  });
});

describe('submitCampaign from a file on disk', () => {
  let dir: string;
  let store: SqliteStore;
  let deps: Deps;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'takedown-stream-'));
    store = new SqliteStore(join(dir, 'db.sqlite'));
    deps = await intakeDeps(store, { directory: DIRECTORY, now: NOW, pageSize: 100 });
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every row of every table, counted: what "stores nothing" means. */
  function rows(): number {
    const db = new Database(join(dir, 'db.sqlite'), { readonly: true });
    try {
      const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all();
      return tables.reduce((n, t) => n + (db.prepare(`SELECT count(*) AS n FROM "${t.name}"`).get() as { n: number }).n, 0);
    } finally {
      db.close();
    }
  }

  const file = (text: string): string => {
    const path = join(dir, 'campaign.csv');
    writeFileSync(path, text);
    return path;
  };

  it('stores nothing when the last line of a large file is bad, and everything with --skip-invalid', async () => {
    const lines = ['indicator,type,evidence'];
    for (let i = 0; i < 2500; i++) lines.push(`198.51.${Math.floor(i / 250)}.${i % 250},ip,"seen by sensor ${i}, twice"`);
    lines.push('192.0.2.300,ip,last');
    const path = file(lines.join('\n'));
    const before = rows();
    const error = await refusal(() => submitCampaign(deps, { name: 'Op', submitter: 'analyst', content: fileSource(path) }));
    expect(error.issues).toEqual([{ where: 'line 2502', reason: "'192.0.2.300' declared as ip: an IPv4 part is over 255; expected an IPv4 or IPv6 address, like 192.0.2.1 or 2001:db8::1" }]);
    expect(rows()).toBe(before);

    const done = await submitCampaign(deps, { name: 'Op', submitter: 'analyst', content: fileSource(path), skipInvalid: true });
    expect(done.skipped).toEqual([{ where: 'line 2502', reason: "'192.0.2.300' declared as ip: an IPv4 part is over 255; expected an IPv4 or IPv6 address, like 192.0.2.1 or 2001:db8::1" }]);
    expect(done.campaign.counts).toMatchObject({ submitted: 2500, indicators: 2500, skipped: 1 });
    const stored = await store.listIndicators(done.campaign.id, { limit: 5000 });
    expect(stored.items.map((r) => r.seq)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
    expect(stored.items[2499]!.indicator).toMatchObject({ value: '198.51.9.249', origin: 'line 2501', evidence: 'seen by sensor 2499, twice' });
  });

  it('stores the same indicators whether the file comes as text or from disk', async () => {
    const fromText = await submitCampaign(deps, { name: 'A', submitter: 'analyst', content: EXAMPLE_CSV });
    const fromDisk = await submitCampaign(deps, { name: 'B', submitter: 'analyst', content: fileSource(file(EXAMPLE_CSV)) });
    const stored = async (id: string) => (await store.listIndicators(id, { limit: 1000 })).items.map(({ seq, indicator }) => ({ seq, indicator }));
    expect(fromDisk.campaign.counts).toEqual(fromText.campaign.counts);
    expect(await stored(fromDisk.campaign.id)).toEqual(await stored(fromText.campaign.id));
    expect(fromText.campaign.counts.submitted).toBe(EXAMPLE_CSV.trim().split('\n').length - 1);
  });
});

describe('readUploadStep: an uploaded file read a page per step of the campaign workflow', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'takedown-upload-'));
    store = new SqliteStore(join(dir, 'db.sqlite'));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Deps with an upload store that holds one file in memory, read as 4 KB pieces, with pages of `page`. */
  async function uploadDeps(text: string, page: number): Promise<{ deps: Deps; reads: () => number }> {
    const base = await intakeDeps(store, { directory: DIRECTORY, now: NOW, pageSize: 100 });
    const bytes = new TextEncoder().encode(text);
    let reads = 0;
    const uploads = {
      createUpload: async () => ({ url: 'http://127.0.0.1/upload', expiresAt: '2099-01-01T00:00:00.000Z' }),
      open: async () => ({ size: bytes.length, chunks: () => (reads++, bytesOf(text, 4096).chunks()) }),
    };
    const settings = { ...base.settings, uploadPageSize: page };
    return { deps: { ...base, uploads, settings }, reads: () => reads };
  }

  it('stores a page per step, the last batch in the step that reads it, each indicator once', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `198.51.${Math.floor(i / 250)}.${i % 250}`);
    const { deps, reads } = await uploadDeps(lines.join('\n'), 1000);
    const { upload } = await createUpload(deps, { size: new TextEncoder().encode(lines.join('\n')).length, by: 'analyst' });
    const { campaignId } = await submitUpload(deps, { upload, name: 'Uploaded', submitter: 'analyst' });

    const cursors = [];
    let cursor = UploadCursor.parse({});
    while (!cursor.done) {
      cursor = await readUploadStep(deps, campaignId, upload, cursor);
      cursors.push(cursor);
      expect(cursors.length).toBeLessThan(10);
    }

    // three pages of 1,000: no fourth step reading the whole file again to store nothing
    expect(cursors.map((c) => [c.unique, c.done])).toEqual([[1000, false], [2000, false], [3000, true]]);
    expect(reads()).toBe(3);
    const stored = await listAll((p) => store.listIndicators(campaignId, p));
    expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect((await store.getCampaign(campaignId))?.counts).toMatchObject({ submitted: 3000, indicators: 3000 });
  });
});
