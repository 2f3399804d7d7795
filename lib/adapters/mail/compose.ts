import MailComposer from 'nodemailer/lib/mail-composer';
import MimeNode from 'nodemailer/lib/mime-node';
import { buildMime } from './mime-build.js';
import type { ArfFields, MailDraft } from '../../core/ports.js';

/**
 * Builds the exact RFC 5322 bytes of a draft: CRLF line ends, 7-bit safe (quoted-printable text, base64
 * attachments). Text and HTML go as multipart/alternative; a draft with `arf` goes as an RFC 5965 feedback report.
 */
export async function composeMessage(draft: MailDraft): Promise<string> {
  const root = messageTree(draft);
  // put together at once from the tree (the same bytes as its stream, mime-build.ts); streamed when it cannot be
  const bytes = buildMime(root) ?? (await root.build());
  // the encodings MailComposer picks keep every byte ASCII, so the utf-8 decoding is lossless
  return bytes.toString('utf8');
}

/** A draft's MIME tree, as nodemailer builds it: MailComposer's, or for an ARF report one made from its MimeNode. */
export function messageTree(draft: MailDraft): MimeNode {
  if (draft.arf) return arfTree(draft, draft.arf);
  const composer = new MailComposer({
    from: draft.from,
    to: draft.to,
    replyTo: draft.replyTo,
    subject: draft.subject,
    text: draft.text,
    html: draft.html,
    messageId: draft.messageId,
    inReplyTo: draft.inReplyTo,
    references: draft.inReplyTo,
    // custom headers go in first; the standard fields above win over a custom header of the same name
    headers: draft.headers ? { ...draft.headers } : undefined,
    attachments: draft.attachments?.map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      content: a.content,
    })),
    // quoted-printable, never base64, for text: the stored bytes stay readable where they are ASCII (an audit
    // reads them), and the Arabic part of a notice costs a few kilobytes more, not a different encoding
    textEncoding: 'quoted-printable',
    // without it a multi-line text body keeps bare LFs inside CRLF-framed MIME, which strict relays refuse
    newline: 'win',
    // every content is given inline: a string that looks like a path or URL must never be read
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return composer.compile();
}

const NODE_OPTIONS = { newline: 'win', textEncoding: 'Q', disableFileAccess: true, disableUrlAccess: true } as const;

/**
 * An ARF report (RFC 5965 over RFC 6522 multipart/report): the human-readable text, the machine-readable
 * `message/feedback-report` fields (Feedback-Type: xarf), and the XARF reports as the third part, one
 * application/json when there is one report, else a multipart/mixed of them (multipart/report has at most
 * three parts). The HTML alternative is left out: ARF readers are ticket systems, and some take only a text/plain
 * first part. MailComposer builds only mixed/alternative/related trees, so the tree is built from its MimeNode.
 */
function arfTree(draft: MailDraft, arf: ArfFields): MimeNode {
  const root = new MimeNode('multipart/report; report-type=feedback-report', NODE_OPTIONS);
  if (draft.headers) root.addHeader({ ...draft.headers });
  const standard: [string, string | undefined][] = [
    ['From', draft.from],
    ['To', draft.to],
    ['Reply-To', draft.replyTo],
    ['In-Reply-To', draft.inReplyTo],
    ['References', draft.inReplyTo],
    ['Subject', draft.subject],
    ['Message-ID', draft.messageId],
  ];
  for (const [key, value] of standard) if (value) root.setHeader(key, value);

  root.createChild('text/plain; charset=utf-8').setHeader('Content-Transfer-Encoding', 'quoted-printable').setContent(draft.text);
  // RFC 2046: a message/* part is 7bit; the fields are ASCII by construction (feedbackReport drops what is not)
  root.createChild('message/feedback-report').setHeader('Content-Transfer-Encoding', '7bit').setContent(feedbackReport(arf));

  const reports = draft.attachments ?? [];
  if (reports.length) {
    const holder = reports.length === 1 ? root : root.createChild('multipart/mixed');
    for (const a of reports) holder.createChild(a.contentType, { filename: a.filename }).setContent(a.content);
  }

  return root;
}

/** RFC 5322 date-time in UTC (`Thu, 02 Jan 2025 10:00:00 +0000`), the form ARF's Arrival-Date takes. */
function rfc5322Date(iso: string): string {
  return new Date(iso).toUTCString().replace(/GMT$/, '+0000');
}

/**
 * The body of the message/feedback-report part (RFC 5965 section 3): the three required fields once each
 * (Feedback-Type, User-Agent, Version), then the optional ones. A value that is not printable ASCII or would
 * overflow a line is left out: the same facts are in the attached reports.
 */
export function feedbackReport(arf: ArfFields): string {
  const fields: [string, string][] = [
    ['Feedback-Type', arf.feedbackType],
    ['User-Agent', arf.userAgent],
    ['Version', '1'],
  ];
  if (arf.arrivalDate && !Number.isNaN(Date.parse(arf.arrivalDate))) fields.push(['Arrival-Date', rfc5322Date(arf.arrivalDate)]);
  if (arf.sourceIp) fields.push(['Source-IP', arf.sourceIp]);
  if (arf.incidents !== undefined) fields.push(['Incidents', String(arf.incidents)]);
  for (const d of arf.reportedDomains ?? []) fields.push(['Reported-Domain', d]);
  for (const u of arf.reportedUris ?? []) fields.push(['Reported-URI', u]);
  // only User-Agent and Arrival-Date may hold spaces; an address, a name or a URI never does
  const spaced = new Set(['User-Agent', 'Arrival-Date']);
  return fields
    .filter(([name, value]) => (spaced.has(name) ? /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/ : /^[\x21-\x7e]+$/).test(value))
    .filter(([name, value]) => name.length + value.length + 2 <= 998)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
}
