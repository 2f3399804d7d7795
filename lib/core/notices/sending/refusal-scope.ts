import type { RefusalScope } from '../../errors.js';

/**
 * Whose fault a refusal is, from what a server said: the SMTP reply of a relay, or a delivery status notification
 * (RFC 3464) a server sent back later. The same reading serves both, so a refusal read at the hand-over and one
 * read from a bounce lead to the same decision.
 */

const RELAY_REFUSES_US = /relay(ing)? (access )?(denied|not permitted|prohibited)|not permitted to relay|authentication (is )?required|must (be authenticated|authenticate)|sender (address )?(rejected|refused|not (allowed|verified))/i;
const TOO_BIG = /too (big|large)|size (limit|exceeded)|exceeds? (the )?(maximum|size)|message file too big/i;

/**
 * Whose fault a refusal is (see RefusalScope). The enhanced status decides when there is one: 5.3.4 and 5.2.3
 * the size, 5.1.x and 5.2.1/5.2.2 the mailbox, 5.4.x the recipient's domain, 5.7.x policy, except a relay that
 * denies us (relaying, authentication) which is our own sender's problem. Without one, the step decides: a 5xx to
 * MAIL FROM or AUTH is our relay refusing us, 552 is the size, to RCPT the mailbox; a bare refusal of the message
 * itself (DATA) is read as policy, never as a dead mailbox: a person looks before anyone is escalated for it.
 */
export function refusalScope(code: number | undefined, enhanced: string | undefined, step: string | undefined, text: string | undefined): RefusalScope {
  const words = text ?? '';
  if (enhanced) {
    const [, subject, detail] = enhanced.split('.').map(Number);
    if ((subject === 3 && detail === 4) || (subject === 2 && detail === 3) || (code === 552 && TOO_BIG.test(words))) return 'message';
    if (subject === 7) return RELAY_REFUSES_US.test(words) || step === 'MAIL' || step === 'AUTH' || code === 530 || code === 535 ? 'sender' : 'policy';
    if (step === 'MAIL' || step === 'AUTH') return 'sender';
    if (subject === 1 || (subject === 2 && (detail === 1 || detail === 2)) || subject === 4) return 'recipient';
    if (subject === 5) return step === 'RCPT' ? 'recipient' : 'sender';
    return step === 'RCPT' ? 'recipient' : 'policy';
  }
  if (code === 552 || TOO_BIG.test(words)) return 'message';
  if (code === 530 || code === 535 || step === 'MAIL' || step === 'AUTH' || RELAY_REFUSES_US.test(words)) return 'sender';
  if (step === 'RCPT') return 'recipient';
  return 'policy';
}

