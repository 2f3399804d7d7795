import MailComposer from 'nodemailer/lib/mail-composer';
import type { MailDraft } from '../../core/ports.js';

/** Builds the exact RFC 5322 bytes of a draft: CRLF line ends, 7-bit safe (quoted-printable/base64 bodies). */
export async function composeMessage(draft: MailDraft): Promise<string> {
  const composer = new MailComposer({
    from: draft.from,
    to: draft.to,
    replyTo: draft.replyTo,
    subject: draft.subject,
    text: draft.text,
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
    // without it a multi-line text body keeps bare LFs inside CRLF-framed MIME, which strict relays refuse
    newline: 'win',
    // every content is given inline: a string that looks like a path or URL must never be read
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const bytes = await composer.compile().build();
  // the encodings MailComposer picks keep every byte ASCII, so the utf-8 decoding is lossless
  return bytes.toString('utf8');
}
