import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHIPPED_BOOTSTRAP_DIR } from '../../lib/adapters/rdap/bootstrap.js';
import { startLocalRdapServer, type LocalRdapOptions, type LocalRdapServer } from '../../lib/adapters/rdap/local-server.js';
import { RDAP } from './fixtures.js';

/** The real RDAP answers of test/fixtures/rdap, and a bootstrap that sends every registry to a loopback server. */

export function corpusJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(RDAP, file), 'utf8')) as Record<string, unknown>;
}

/** The ipwhois answers, keyed by the address that was asked. */
export function ipwhoisAnswers(): Record<string, Record<string, unknown>> {
  const all = corpusJson('ipwhois/rdap.json') as Record<string, { response: Record<string, unknown> }>;
  return Object.fromEntries(Object.entries(all).map(([ip, v]) => [ip, v.response]));
}

/** Every object answer of the corpus (the error answer is served by the tests that want it). */
export function corpusAnswers(): Record<string, unknown>[] {
  return [
    ...Object.values(ipwhoisAnswers()),
    corpusJson('icann-rdap/network_192_198_0_0.json'),
    corpusJson('icann-rdap/autnum_16509.json'),
    corpusJson('icann-rdap/microsoft.click.json'),
    corpusJson('icann-rdap/home.moscow.json'),
    corpusJson('icann-rdap/lemonde.fr.json'),
    corpusJson('icann-rdap/domain_afnic_fr.json'),
    corpusJson('openrdap/domain-example.cz.json'),
    corpusJson('icann-rdap/entity_arin_hostmaster.json'),
  ];
}

/**
 * The shipped bootstrap snapshot with every server URL moved under `base`: https://rdap.db.ripe.net/ becomes
 * <base>rdap.db.ripe.net/, so the path a request arrives on names the registry the bootstrap chose. TLDs the
 * 2017 snapshot lacks (fr, moscow, click) are added the same way. Written to `dir`.
 */
export function writeRewrittenBootstrap(dir: string, base: string, extraTlds: Record<string, string> = {}): string {
  mkdirSync(dir, { recursive: true });
  const move = (url: string) => {
    const u = new URL(url);
    return `${base}${u.host}${u.pathname.endsWith('/') ? u.pathname : `${u.pathname}/`}`;
  };
  for (const registry of ['ipv4', 'ipv6', 'asn', 'dns']) {
    const file = JSON.parse(readFileSync(join(SHIPPED_BOOTSTRAP_DIR, `${registry}.json`), 'utf8')) as { services: [string[], string[]][] };
    file.services = file.services.map(([entries, urls]) => [entries, [...new Set(urls.filter((u) => u.startsWith('https:')).map(move))]]);
    if (registry === 'dns') for (const [tld, url] of Object.entries(extraTlds)) file.services.push([[tld], [move(url)]]);
    writeFileSync(join(dir, `${registry}.json`), JSON.stringify(file));
  }
  return dir;
}

/** The TLD servers the corpus answers came from, missing from the 2017 dns.json. */
export const CORPUS_TLDS: Record<string, string> = {
  fr: 'https://rdap.nic.fr/',
  moscow: 'https://flexireg.net/moscow/rdap/',
  click: 'https://rdap.uniregistry.net/',
};

/** A loopback RDAP server holding the corpus answers (plus any given). */
export async function startCorpusServer(options: LocalRdapOptions = {}): Promise<LocalRdapServer> {
  return startLocalRdapServer({ ...options, answers: [...corpusAnswers(), ...(options.answers ?? [])] });
}
