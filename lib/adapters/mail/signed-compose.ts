import DKIM from 'nodemailer/lib/dkim';
import type { MailDraft } from '../../core/ports.js';
import { composeMessage } from './compose.js';

/** A DKIM signing key: the signing domain, the selector its public key is published under, the private key (PEM). */
export interface DkimKey {
  readonly domainName: string;
  readonly keySelector: string;
  readonly privateKey: string;
}

// the fields a forwarder or a list is least likely to change, and every field a reader trusts
const DKIM_HEADERS = 'From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:In-Reply-To:References:MIME-Version:Content-Type:Content-Transfer-Encoding:X-Takedown-Notice:X-Takedown-Campaign:X-TLP';

/**
 * What the SMTP mailer composes a draft with: its exact bytes (composeMessage), with a DKIM-Signature on top when
 * a key is given. No timestamp in nodemailer's signatures: the same bytes sign the same way, so a resend is
 * byte-identical.
 */
export function signedComposer(dkim?: DkimKey): (draft: MailDraft) => Promise<string> {
  if (!dkim) return composeMessage;
  const signer = new DKIM({ ...dkim, headerFieldNames: DKIM_HEADERS });
  return async (draft) => {
    const chunks: Buffer[] = [];
    for await (const chunk of signer.sign(await composeMessage(draft))) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  };
}
