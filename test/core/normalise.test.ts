import { describe, expect, it } from 'vitest';
import { normaliseDomainSuffix, normaliseIndicator } from '../../lib/core/intake/normalise.js';

/** The canonical value, or the refusal reason when there is none. */
function canonical(raw: string, type?: string): string {
  const result = normaliseIndicator(raw, type === undefined ? undefined : { type });
  return result.ok ? result.indicator.value : `refused: ${result.reason}`;
}

function refusal(raw: string, type?: string): string {
  const result = normaliseIndicator(raw, type === undefined ? undefined : { type });
  if (result.ok) throw new Error(`expected ${raw} to be refused, got ${result.indicator.value}`);
  return result.reason;
}

describe('normaliseIndicator: IPv4', () => {
  it('keeps a dotted quad and reports it as its own host', () => {
    const result = normaliseIndicator(' 192.0.2.1 ');
    expect(result).toEqual({
      ok: true,
      indicator: { value: '192.0.2.1', kind: 'ipv4', host: '192.0.2.1', hostKind: 'ipv4', raw: '192.0.2.1' },
    });
  });

  it('refuses a leading zero as ambiguous', () => {
    expect(refusal('192.0.2.010')).toMatch(/leading zero.*ambiguous/);
  });

  it('refuses a part over 255 and a quad that is not four parts', () => {
    expect(refusal('192.0.2.256')).toMatch(/over 255/);
    expect(refusal('192.0.2')).toMatch(/four/);
    expect(refusal('192.0.2.1.5')).toMatch(/four/);
  });

  it('refuses a CIDR as a network range', () => {
    expect(refusal('192.0.2.0/24')).toBe('a network range, not an address');
    expect(refusal('2001:db8::/32')).toBe('a network range, not an address');
  });

  it('keeps the port of ip:port apart from the value', () => {
    const result = normaliseIndicator('192.0.2.7:8080');
    expect(result.ok && result.indicator).toMatchObject({ value: '192.0.2.7', port: 8080 });
  });
});

describe('normaliseIndicator: IPv6', () => {
  it.each([
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['[2001:db8::a5]', '2001:db8::a5'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ])('writes %s as %s (RFC 5952)', (raw, value) => {
    expect(canonical(raw)).toBe(value);
  });

  it('turns an IPv4-mapped address into the IPv4 address', () => {
    const result = normaliseIndicator('::ffff:192.0.2.7');
    expect(result.ok && result.indicator).toMatchObject({ value: '192.0.2.7', kind: 'ipv4', hostKind: 'ipv4' });
  });

  it('refuses a zone id', () => {
    expect(refusal('fe80::1%eth0')).toMatch(/zone id/);
  });

  it('refuses malformed addresses', () => {
    expect(refusal('2001:db8::1::2')).toMatch(/more than once/);
    expect(refusal('2001:db8:1:2:3:4:5')).toMatch(/eight groups/);
    expect(refusal('2001:db8::12345')).toMatch(/not a valid IPv6/);
  });
});

describe('normaliseIndicator: domains', () => {
  it('lower-cases and drops a trailing dot', () => {
    const result = normaliseIndicator('Login-Update.EXAMPLE.');
    expect(result.ok && result.indicator).toMatchObject({ value: 'login-update.example', kind: 'domain', host: 'login-update.example', hostKind: 'domain' });
  });

  it('writes an IDN as punycode', () => {
    expect(canonical('bücher.example')).toBe('xn--bcher-kva.example');
    expect(canonical('BÜCHER.Example')).toBe('xn--bcher-kva.example');
  });

  it('refuses an underscore and a space, saying which', () => {
    expect(refusal('bad_name.example')).toMatch(/'_'/);
    expect(refusal('bad name.example')).toMatch(/space/);
  });

  it('refuses a single label, an all-digit TLD, an empty label and bad hyphens', () => {
    expect(refusal('localhost')).toMatch(/two labels/);
    expect(refusal('host.123')).toMatch(/all digits/);
    expect(refusal('a..example')).toMatch(/empty label/);
    expect(refusal('-bad.example')).toMatch(/'-'/);
  });

  it('refuses a label over 63 characters and a name over 253', () => {
    expect(refusal(`${'a'.repeat(64)}.example`)).toMatch(/63/);
    expect(refusal(`${Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.')}.example`)).toMatch(/253/);
    expect(canonical(`${'a'.repeat(63)}.example`)).toBe(`${'a'.repeat(63)}.example`);
  });
});

describe('normaliseIndicator: URLs', () => {
  it('lower-cases scheme and host and keeps the path as given', () => {
    expect(canonical('HTTP://Evil.Example/Login/Page.PHP?User=A')).toBe('http://evil.example/Login/Page.PHP?User=A');
  });

  it('drops the default port, the fragment and the userinfo', () => {
    expect(canonical('https://user:pw@evil.example:443/a#top')).toBe('https://evil.example/a');
    expect(canonical('http://evil.example:80/')).toBe('http://evil.example/');
    expect(canonical('ftp://files.example:21/x')).toBe('ftp://files.example/x');
  });

  it('keeps another port in the value and in port', () => {
    const result = normaliseIndicator('http://203.0.113.77:8080/gate.php');
    expect(result.ok && result.indicator).toEqual({
      value: 'http://203.0.113.77:8080/gate.php',
      kind: 'url',
      host: '203.0.113.77',
      hostKind: 'ipv4',
      port: 8080,
      raw: 'http://203.0.113.77:8080/gate.php',
    });
  });

  it('writes an empty path as /', () => {
    expect(canonical('https://evil.example')).toBe('https://evil.example/');
    expect(canonical('https://evil.example?q=1')).toBe('https://evil.example/?q=1');
  });

  it('puts an IPv6 host in brackets and reports it without them', () => {
    const result = normaliseIndicator('http://[2001:DB8:0:0::5]:8443/panel');
    expect(result.ok && result.indicator).toMatchObject({
      value: 'http://[2001:db8::5]:8443/panel',
      host: '2001:db8::5',
      hostKind: 'ipv6',
      port: 8443,
    });
  });

  it('normalises an IDN host', () => {
    expect(canonical('https://bücher.example/shop')).toBe('https://xn--bcher-kva.example/shop');
  });

  it('refuses other schemes, naming the scheme', () => {
    expect(refusal('javascript://alert')).toMatch(/'javascript'.*not supported/);
    expect(refusal('gopher://evil.example/')).toMatch(/'gopher'/);
  });

  it('refuses a host with leading zeros rather than guessing what it means', () => {
    expect(refusal('http://010.0.0.1/')).toMatch(/leading zero/);
  });

  it('refuses a path without a scheme and a bad port', () => {
    expect(refusal('evil.example/login')).toMatch(/scheme/);
    expect(refusal('http://evil.example:70000/')).toMatch(/port/);
    expect(refusal('http:///path')).toMatch(/no host/);
  });
});

describe('normaliseIndicator: defanged and wrapped forms', () => {
  it.each([
    ['hxxp://evil[.]example/a', 'http://evil.example/a'],
    ['hXXps://evil(.)example/a', 'https://evil.example/a'],
    ['fxp://files{.}example/x', 'ftp://files.example/x'],
    ['hxxp[://]evil[dot]example/', 'http://evil.example/'],
    ['hxxps[:]//evil(dot)example/', 'https://evil.example/'],
    ['192[.]0[.]2[.]1', '192.0.2.1'],
    ['2001[:]db8[:][:]1', '2001:db8::1'],
    ['"evil.example",', 'evil.example'],
    ["  'evil[.]example';  ", 'evil.example'],
  ])('reads %s as %s', (raw, value) => {
    expect(canonical(raw)).toBe(value);
  });

  it('keeps the text as submitted in raw', () => {
    const result = normaliseIndicator('hxxp://evil[.]example/a');
    expect(result.ok && result.indicator.raw).toBe('hxxp://evil[.]example/a');
  });

  it('refuses an empty value', () => {
    expect(refusal('  "" ')).toBe('empty');
  });
});

describe('normaliseIndicator: declared type', () => {
  it('accepts each declared type name, in any case', () => {
    expect(canonical('192.0.2.1', 'IP')).toBe('192.0.2.1');
    expect(canonical('192.0.2.1', 'ipv4')).toBe('192.0.2.1');
    expect(canonical('2001:db8::1', 'IPv6')).toBe('2001:db8::1');
    expect(canonical('evil.example', 'hostname')).toBe('evil.example');
    expect(canonical('http://evil.example', 'link')).toBe('http://evil.example/');
    expect(canonical('http://evil.example', 'uri')).toBe('http://evil.example/');
  });

  it('names both the declared type and what the value is when they disagree', () => {
    expect(refusal('evil.example', 'ip')).toBe('declared as ip but it is a domain');
    expect(refusal('192.0.2.1', 'url')).toBe('declared as url but it is an IPv4 address');
    expect(refusal('http://evil.example/', 'domain')).toBe('declared as domain but it is a URL');
  });

  it('accepts an IPv4-mapped address declared as ipv6', () => {
    expect(canonical('::ffff:192.0.2.7', 'ipv6')).toBe('192.0.2.7');
  });

  it('refuses a type it does not know', () => {
    expect(refusal('evil.example', 'md5')).toMatch(/'md5' is not one of/);
  });
});

describe('normaliseDomainSuffix', () => {
  it('accepts a single label and strips a leading dot or wildcard', () => {
    expect(normaliseDomainSuffix('EXAMPLE')).toEqual({ ok: true, suffix: 'example' });
    expect(normaliseDomainSuffix('*.Shop.Example')).toEqual({ ok: true, suffix: 'shop.example' });
    expect(normaliseDomainSuffix('.test')).toEqual({ ok: true, suffix: 'test' });
  });

  it('refuses what is not a domain name', () => {
    expect(normaliseDomainSuffix('bad_suffix').ok).toBe(false);
  });
});
