import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBootstrapDir, type Bootstrap } from '../../lib/adapters/rdap/bootstrap.js';
import { RdapClient, RdapLookupError } from '../../lib/adapters/rdap/client.js';
import { extractAutnum, extractDomain, extractEntity, extractNetwork } from '../../lib/adapters/rdap/extract.js';
import { rangeCidr } from '../../lib/adapters/rdap/ip.js';
import type { LocalRdapServer } from '../../lib/adapters/rdap/local-server.js';
import { CORPUS_TLDS, corpusJson, startCorpusServer, writeRewrittenBootstrap } from '../support/rdap.js';

/*
 * The hand-written table of test/fixtures/rdap-expected.json against the real corpus answers, fetched over
 * loopback HTTP through the shipped bootstrap (its server URLs moved onto the local server), so bootstrap,
 * client and extraction are tested together.
 */

interface Expected {
  file: string;
  key?: string;
  query: 'ip' | 'autnum' | 'domain' | 'entity' | 'error';
  registry?: string;
  abuse: { email: string; name?: string; phone?: string } | null;
  noAbuse?: string;
  network?: { start: string; end: string; cidr?: string | null; name?: string; country?: string; originAsns?: number[] };
  registrar?: { name: string; ianaId?: string; email?: string };
  autnum?: { asn: number; name: string };
  entity?: { handle: string; name: string; email: string };
  fallbackDomain?: string;
  status?: number;
  why: string;
}

const TABLE = JSON.parse(readFileSync(new URL('../fixtures/rdap-expected.json', import.meta.url), 'utf8')) as { answers: Expected[] };

const REGISTRY_HOSTS: Record<string, string> = {
  RIPE: 'rdap.db.ripe.net',
  ARIN: 'rdap.arin.net',
  APNIC: 'rdap.apnic.net',
  AFRINIC: 'rdap.afrinic.net',
  LACNIC: 'rdap.lacnic.net',
};

let server: LocalRdapServer;
let bootstrap: Bootstrap;
let dir: string;
const client = new RdapClient({ minIntervalMs: 0, timeoutMs: 5000 });
const errorAnswer = corpusJson('icann-rdap/error_ripe_net.json');

beforeAll(async () => {
  server = await startCorpusServer({
    intercept: (_req, res, query) => {
      // the corpus's error answer, as RIPE sends it for a query type it does not support
      if (query.type === 'ip' && query.value === '193.0.6.139') {
        res.writeHead(501, { 'content-type': 'application/rdap+json' });
        res.end(JSON.stringify(errorAnswer));
        return true;
      }
      return false;
    },
  });
  dir = mkdtempSync(join(tmpdir(), 'takedown-rdap-boot-'));
  bootstrap = readBootstrapDir(writeRewrittenBootstrap(dir, server.url, CORPUS_TLDS));
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What the table entry asks the server, through the bootstrap. */
function queryUrl(e: Expected): string {
  if (e.query === 'ip') {
    const address = e.key ?? '192.198.1.1';
    return `${bootstrap.serversForAddress(address)[0]}ip/${address}`;
  }
  if (e.query === 'autnum') return `${bootstrap.serversForAsn(e.autnum!.asn)[0]}autnum/${e.autnum!.asn}`;
  if (e.query === 'domain') {
    const name = String(corpusJson(e.file).ldhName);
    return `${bootstrap.serversForDomain(name)[0]}domain/${name}`;
  }
  if (e.query === 'entity') return `${server.url}entity/${e.entity!.handle}`;
  return `${bootstrap.serversForAddress('193.0.6.139')[0]}ip/193.0.6.139`;
}

describe('the expected abuse contact of every corpus answer', () => {
  it('has an entry for every answer in the corpus', () => {
    const files = new Set(TABLE.answers.map((e) => e.file));
    for (const f of ['ipwhois/rdap.json', 'icann-rdap/network_192_198_0_0.json', 'icann-rdap/autnum_16509.json', 'icann-rdap/microsoft.click.json', 'icann-rdap/home.moscow.json', 'icann-rdap/lemonde.fr.json', 'icann-rdap/domain_afnic_fr.json', 'openrdap/domain-example.cz.json', 'icann-rdap/entity_arin_hostmaster.json', 'icann-rdap/error_ripe_net.json']) {
      expect(files.has(f), f).toBe(true);
    }
    const ips = TABLE.answers.filter((e) => e.file === 'ipwhois/rdap.json').map((e) => e.key).sort();
    expect(ips).toStrictEqual(Object.keys(corpusJson('ipwhois/rdap.json')).sort());
  });

  for (const e of TABLE.answers) {
    const label = `${e.file}${e.key ? ` ${e.key}` : ''}: ${e.abuse ? e.abuse.email : `none (${e.noAbuse})`}`;
    it(label, async () => {
      const url = queryUrl(e);
      if ((e.query === 'ip' || e.query === 'autnum') && e.registry && REGISTRY_HOSTS[e.registry]) expect(new URL(url).pathname.startsWith(`/${REGISTRY_HOSTS[e.registry]}/`), url).toBe(true);

      if (e.query === 'error') {
        const failed = await client.get(url).catch((x: unknown) => x);
        expect(failed).toBeInstanceOf(RdapLookupError);
        expect((failed as Error).message).toContain(String(e.status));
        expect((failed as Error).message).toContain('Not Implemented');
        return;
      }
      const answer = await client.get(url);

      if (e.query === 'entity') {
        expect(extractEntity(answer.json)).toStrictEqual({ objectClass: 'entity', ...e.entity });
        return;
      }
      const info =
        e.query === 'ip' ? extractNetwork(answer.json) : e.query === 'autnum' ? extractAutnum(answer.json) : extractDomain(answer.json);
      if ('error' in info) throw new Error(info.error);
      const abuse = 'registrar' in info || info.objectClass === 'domain' ? (info as ReturnType<typeof extractDomain> & { registrar?: { abuse?: unknown } }).registrar?.abuse : (info as { abuse?: unknown }).abuse;

      if (e.abuse) {
        expect(abuse).toMatchObject({ email: e.abuse.email, ...(e.abuse.name ? { name: e.abuse.name } : {}), ...(e.abuse.phone ? { phone: e.abuse.phone } : {}) });
      } else {
        expect(abuse).toBeUndefined();
        expect((info as { noAbuseReason?: string }).noAbuseReason).toContain(e.noAbuse);
      }
      if (e.network && info.objectClass === 'ip network') {
        expect(info.range.start).toBe(e.network.start);
        expect(info.range.end).toBe(e.network.end);
        if (e.network.cidr !== undefined) expect(rangeCidr(info.range)).toBe(e.network.cidr ?? undefined);
        expect(info.name).toBe(e.network.name);
        expect(info.country).toBe(e.network.country);
        if (e.network.originAsns) expect(info.originAsns).toStrictEqual(e.network.originAsns);
      }
      if (e.registrar && info.objectClass === 'domain') {
        expect(info.registrar).toMatchObject({ name: e.registrar.name, ...(e.registrar.ianaId ? { ianaId: e.registrar.ianaId } : {}), ...(e.registrar.email ? { email: e.registrar.email } : {}) });
      }
      if (e.autnum && info.objectClass === 'autnum') expect({ asn: info.start, name: info.name }).toStrictEqual(e.autnum);
      if (e.fallbackDomain) {
        const domain = info.objectClass === 'domain' ? info.registrar?.domain : (info as { domain?: string }).domain;
        expect(domain).toBe(e.fallbackDomain);
      }
    });
  }
});
