import { generateKeyPairSync } from 'node:crypto';
import { txt } from './mail-dns.js';

/**
 * One DKIM key for tests, published under the selector `test` of any domain a test names: the DNS records to put
 * in a stub resolver's table, and nodemailer's `dkim` option to sign with it as that domain. A recipient's answer
 * that closes a case must come authenticated; this is how a test's recipient authenticates, honestly.
 */
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PUBLIC_KEY = keys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const PRIVATE_KEY = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** The TXT records that publish the test key for each domain, for stubResolver's table. */
export function dkimRecords(...domains: string[]): Record<string, string[][]> {
  return Object.fromEntries(domains.map((d) => [`TXT test._domainkey.${d}`, txt(`v=DKIM1; k=rsa; p=${PUBLIC_KEY}`)]));
}

/** nodemailer's `dkim` transport option: sign as `domain` with the test key. */
export function dkimSigner(domain: string): { domainName: string; keySelector: string; privateKey: string } {
  return { domainName: domain, keySelector: 'test', privateKey: PRIVATE_KEY };
}
