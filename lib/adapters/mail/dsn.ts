/**
 * An RFC 3464 delivery status notification (`multipart/report; report-type=delivery-status`) as a recipient's
 * mail server sends it about one of our messages: the simulated recipients of `takedown demo` bounce with it,
 * and tests feed it to the classifier.
 */
export interface DeliveryReport {
  /** the From of the report, e.g. `Mail Delivery System <MAILER-DAEMON@mx.example>` */
  readonly from: string;
  readonly to: string;
  readonly subject?: string;
  readonly messageId?: string;
  /** the reporting server's name: `Reporting-MTA: dns; <it>` */
  readonly reportingMta: string;
  /** the address that failed (or is delayed) */
  readonly recipient: string;
  readonly action: 'failed' | 'delayed' | 'delivered';
  /** `5.1.1`, `4.4.1` ... */
  readonly status: string;
  readonly diagnostic?: string;
  readonly text?: string;
  /** the returned message's header block, as the report quotes it (`text/rfc822-headers`) */
  readonly originalHeaders: string;
}

/** The report's exact text, CRLF line ends. */
export function deliveryReport(r: DeliveryReport): string {
  const subject = r.subject ?? (r.action === 'failed' ? 'Undelivered Mail Returned to Sender' : r.action === 'delayed' ? 'Delayed Mail (still being retried)' : 'Successful Mail Delivery Report');
  const text =
    r.text ??
    (r.action === 'failed' ? 'Your message could not be delivered to one or more recipients.' : r.action === 'delayed' ? 'THIS IS A WARNING ONLY. YOUR MESSAGE WILL BE RETRIED.' : 'Your message was delivered.');
  return [
    `From: ${r.from}`,
    `To: ${r.to}`,
    `Subject: ${subject}`,
    'Auto-Submitted: auto-replied',
    ...(r.messageId ? [`Message-ID: ${r.messageId}`] : []),
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b0"',
    '',
    '--b0',
    'Content-Type: text/plain',
    '',
    text,
    '',
    '--b0',
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${r.reportingMta}`,
    '',
    `Final-Recipient: rfc822; ${r.recipient}`,
    `Action: ${r.action}`,
    `Status: ${r.status}`,
    ...(r.diagnostic ? [`Diagnostic-Code: smtp; ${r.diagnostic}`] : []),
    '',
    '--b0',
    'Content-Type: text/rfc822-headers',
    '',
    r.originalHeaders.replace(/\r?\n/g, '\r\n'),
    '',
    '--b0--',
    '',
  ].join('\r\n');
}
