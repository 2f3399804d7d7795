import { describe, expect, it } from 'vitest';
import { parseStixPattern } from '../../lib/core/intake/formats/stix-pattern.js';
import { patternValues, type PatternValues } from '../../lib/core/intake/formats/stix-pattern-values.js';

/** The values of a pattern, or a failed test when it does not parse. */
function values(pattern: string): PatternValues {
  const parsed = parseStixPattern(pattern);
  if (!parsed.ok) throw new Error(`expected ${pattern} to parse: ${parsed.reason}`);
  return patternValues(parsed.pattern);
}

function syntaxError(pattern: string): string {
  const parsed = parseStixPattern(pattern);
  if (parsed.ok) throw new Error(`expected a syntax error for ${pattern}`);
  return parsed.reason;
}

describe('parseStixPattern and patternValues', () => {
  it('reads one equality over each supported object type', () => {
    expect(values("[ipv4-addr:value = '198.51.100.1']")).toEqual({ ok: true, values: [{ objectType: 'ipv4-addr', value: '198.51.100.1' }] });
    expect(values("[ipv6-addr:value = '2001:db8::1']")).toEqual({ ok: true, values: [{ objectType: 'ipv6-addr', value: '2001:db8::1' }] });
    expect(values("[domain-name:value = 'evil.example']")).toEqual({ ok: true, values: [{ objectType: 'domain-name', value: 'evil.example' }] });
    expect(values("[url:value = 'http://evil.example/a?b=c']")).toEqual({ ok: true, values: [{ objectType: 'url', value: 'http://evil.example/a?b=c' }] });
  });

  it('reads OR and AND, inside and between observations, with parentheses and spacing as written', () => {
    const pattern = "( [ipv4-addr:value = '192.0.2.1' OR (domain-name:value='a.example' AND url:value = 'http://b.example/')] OR [ipv6-addr:value = '2001:db8::2'] ) AND [domain-name:value = 'c.example']";
    const result = values(pattern);
    expect(result.ok && result.values.map((v) => v.value)).toEqual(['192.0.2.1', 'a.example', 'http://b.example/', '2001:db8::2', 'c.example']);
  });

  it("undoes the two escapes STIX strings have, \\' and \\\\", () => {
    const result = values("[url:value = 'http://evil.example/it\\'s\\\\here']");
    expect(result.ok && result.values[0]!.value).toBe("http://evil.example/it's\\here");
  });

  it('takes == as the same equality as =', () => {
    expect(values("[ipv4-addr:value == '192.0.2.1']").ok).toBe(true);
  });

  it('names what is outside the supported subset instead of guessing', () => {
    const cases: [string, string][] = [
      ["[domain-name:value MATCHES '^evil']", 'the MATCHES operator'],
      ["[domain-name:value LIKE '%.example']", 'the LIKE operator'],
      ["[ipv4-addr:value != '192.0.2.1']", 'the != operator'],
      ["[ipv4-addr:value NOT = '192.0.2.1']", 'NOT'],
      ["[ipv4-addr:value IN ('192.0.2.1', '192.0.2.2')]", 'the IN operator'],
      ["[ipv4-addr:value ISSUBSET '192.0.2.0/24']", 'the ISSUBSET operator'],
      ["[ipv4-addr:value = '192.0.2.1'] WITHIN 600 SECONDS", 'the WITHIN qualifier'],
      ["[ipv4-addr:value = '192.0.2.1'] REPEATS 5 TIMES", 'the REPEATS qualifier'],
      ["[ipv4-addr:value = '192.0.2.1'] START t'2024-01-01T00:00:00Z' STOP t'2024-02-01T00:00:00Z'", 'the START/STOP qualifier'],
      ["[ipv4-addr:value = '192.0.2.1'] FOLLOWEDBY [domain-name:value = 'a.example']", 'the FOLLOWEDBY operator'],
      ["[file:hashes.'SHA-256' = 'ab']", 'the object type file'],
      ["[network-traffic:dst_ref.value = '192.0.2.1']", 'the object type network-traffic'],
      ["[domain-name:resolves_to_refs[*].value = '192.0.2.1']", 'the object path domain-name:resolves_to_refs[*].value'],
      ["[ipv4-addr:value = 42]", 'a int value for ipv4-addr:value'],
      ['[EXISTS ipv4-addr:value]', 'the EXISTS operator'],
    ];
    for (const [pattern, construct] of cases) expect(values(pattern), pattern).toEqual({ ok: false, unsupported: construct });
  });

  it('makes the whole pattern unsupported when one comparison is, even next to a supported one', () => {
    expect(values("[ipv4-addr:value = '192.0.2.1' OR file:name = 'x.exe']")).toEqual({ ok: false, unsupported: 'the object type file' });
  });

  it('parses the corpus pattern with a list index, a quoted property and an escaped backslash', () => {
    expect(values("[email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']")).toEqual({ ok: false, unsupported: 'the MATCHES operator' });
  });

  it('tells a pattern that is not STIX apart, with the column of the fault', () => {
    expect(syntaxError("[ipv4-addr:value = '192.0.2.1'")).toBe("expected ']', found the end of the pattern at column 31");
    expect(syntaxError("[ipv4-addr:value = '192.0.2.1]")).toMatch(/quoted string is not closed at column 20/);
    expect(syntaxError("ipv4-addr:value = '192.0.2.1'")).toMatch(/expected '\[' or '\(', found a name at column 1/);
    expect(syntaxError("[ipv4-addr:value = 'a\\nb']")).toMatch(/backslash/);
    expect(syntaxError("[ipv4-addr:value '192.0.2.1']")).toMatch(/expected a comparison operator/);
    expect(syntaxError('[]')).toMatch(/empty observation/);
    expect(syntaxError("[ipv4-addr:value = '192.0.2.1'] AND")).toMatch(/the end of the pattern/);
    expect(syntaxError("[ipv4-addr:value = '192.0.2.1'] WITHIN SECONDS")).toMatch(/positive number of seconds/);
    expect(syntaxError("[ipv4-addr:value = '192.0.2.1'] garbage")).toBe('did not expect a name here at column 33');
  });

  it('never repeats a value of the pattern in a syntax error', () => {
    const reason = syntaxError("[url:value = 'http://victim.example/?mail=someone@victim.example' AND ]");
    expect(reason).not.toMatch(/victim/);
  });
});
