import { describe, expect, it } from 'vitest';
import { HostConfig, pageSizeOf } from '../../lib/local/host.js';

describe('the routing page of the embedded host', () => {
  it('is 20,000 indicators a step when routing reads the directory or the local RDAP server', () => {
    expect(pageSizeOf(HostConfig.parse({ rdap: 'local' }))).toBe(20_000);
    expect(pageSizeOf(HostConfig.parse({ rdap: 'off' }))).toBe(20_000);
    expect(pageSizeOf(HostConfig.parse({}))).toBe(20_000);
  });

  it('is 500 when a step waits on the registries, so a page of lookups ends within its state\'s 900 s', () => {
    // at most 10 lookups a second per RDAP server: 5,000 new domains would take 500 s before their registrars
    expect(pageSizeOf(HostConfig.parse({ rdap: 'real' }))).toBe(500);
  });

  it('is the configured size whatever the RDAP mode, within 1 to 20,000', () => {
    expect(pageSizeOf(HostConfig.parse({ rdap: 'real', pageSize: 2000 }))).toBe(2000);
    expect(pageSizeOf(HostConfig.parse({ rdap: 'off', pageSize: 100 }))).toBe(100);
    expect(pageSizeOf(HostConfig.parse({ rdap: 'off', pageSize: 20_000 }))).toBe(20_000);
    expect(() => HostConfig.parse({ pageSize: 20_001 })).toThrow();
    expect(() => HostConfig.parse({ pageSize: 0 })).toThrow();
  });
});
