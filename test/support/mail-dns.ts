import type { MailAuthResolver } from '../../lib/core/answers/mail-auth.js';

/**
 * A DNS resolver answering from a table, as mailauth's `resolver` option expects: keys are `TXT name`, `MX name`,
 * `A name` ...; anything else is a missing name (ENOTFOUND), as a real resolver reports it. Never the network.
 */
export function stubResolver(table: Readonly<Record<string, readonly unknown[]>>): MailAuthResolver & { readonly asked: string[] } {
  const asked: string[] = [];
  const answers = new Map(Object.entries(table).map(([k, v]) => [k.toLowerCase(), v]));
  const resolve = async (name: string, rrtype: string): Promise<unknown[]> => {
    const key = `${rrtype} ${name}`.toLowerCase().replace(/\.$/, '');
    asked.push(key);
    const found = answers.get(key);
    if (found) return [...found];
    throw Object.assign(new Error(`query${rrtype} ENOTFOUND ${name}`), { code: 'ENOTFOUND', hostname: name });
  };
  return Object.assign(resolve, { asked });
}

/** A TXT record as node's resolver returns it: one array of strings (chunks) per record. */
export function txt(...records: string[]): string[][] {
  return records.map((r) => [r]);
}
