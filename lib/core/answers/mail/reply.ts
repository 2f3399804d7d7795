/**
 * The human part of a reply: the text its writer typed, without the quoted history. Mail clients mark the
 * history differently by client and language: `>` quoting after an attribution line ("On ... wrote:",
 * "Le ... a écrit :", "Em ... escreveu:", "في ... كتب ...:"), an Outlook header block ("From:/Sent:",
 * "De :/Envoyé :", "De:/Enviado:", "من:/أرسل:"), or a separator ("-----Original Message-----"). Top-posting,
 * bottom-posting and interleaved answers all keep what is outside the quotes.
 */

/** The writer's own text and how the quoted part was recognised. */
export interface HumanPart {
  readonly text: string;
  /** what ended or removed the quoted part: "'>' quoting", "Outlook header block", ... */
  readonly quote?: string;
}

/** Lines that begin a copy of our own notice pasted without any quote marks (the notice's first lines). */
export const DEFAULT_NOTICE_MARKERS: readonly RegExp[] = [
  /^TLP:(CLEAR|GREEN|AMBER(\+STRICT)?|RED)\s*$/,
  /^To the abuse team of .+,$/,
];

const SEPARATORS: readonly { re: RegExp; name: string }[] = [
  {
    re: /^\s*-{2,}\s*(Original Message|Forwarded message|Message d'origine|Message original|Message transféré|Mensagem original|Mensagem encaminhada|Mensaje original|Ursprüngliche Nachricht|الرسالة الأصلية|الرسالة الاصلية|رسالة معاد توجيهها)\s*-{2,}\s*$/i,
    name: 'an "Original Message" separator',
  },
  { re: /^\s*(Begin forwarded message|Début du message réexpédié|Início da mensagem encaminhada)\s*:\s*$/i, name: 'a forwarded-message separator' },
];

// an attribution line, maybe wrapped over two or three lines by the client (only those that say how they begin)
const ATTRIBUTIONS: readonly { re: RegExp; name: string; wraps?: boolean }[] = [
  { re: /^\s*On\b.{4,300}\bwrote\s*:\s*$/is, name: '"On ... wrote:"', wraps: true },
  { re: /^\s*Le\b.{4,300}\ba\s+écrit\s*:\s*$/is, name: '"Le ... a écrit :"', wraps: true },
  { re: /^\s*Em\b.{4,300}\bescreveu\s*:\s*$/is, name: '"Em ... escreveu:"', wraps: true },
  { re: /^\s*(?:\u202b|\u200f)?في\s.{4,300}(?:كتب|كتبت|تمت كتابة ما يلي بواسطة).{0,200}:\s*(?:\u202c)?$/s, name: '"في ... كتب:"', wraps: true },
  { re: /^\s*.{1,200}[\s,،](wrote|schrieb|a écrit|escreveu|escribió|كتب|كتبت)\s*:\s*$/is, name: 'an attribution line' },
  { re: /^\s*\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\s+\d{1,2}:\d{2}.{0,200}\s-\s.{1,200}:\s*$/s, name: 'a ticket-system attribution' },
];

// the first line of an Outlook-style header block, and the lines that prove it is one
const HEADER_START = /^\s*\*?\s*(From|De|Von|Da|من|المرسل)\s*\*?\s*:\s*\*?\s*\S/i;
const HEADER_FOLLOW = /^\s*\*?\s*(Sent|Date|Envoyé|Enviado|Enviada|Data|Gesendet|Datum|To|À|A|Para|An|Subject|Objet|Assunto|Asunto|Betreff|Cc|أرسل|أرسلت|التاريخ|إلى|الى|الموضوع|تاريخ الإرسال)\s*\*?\s*:/i;
const RULE_LINE = /^\s*_{8,}\s*$/;
const SIGNATURE = /^-- ?$/;
const TICKET_BANNER = /^\s*#*-*\s*(please )?(type|write|enter) your reply above this line|^\s*#*-*\s*reply above this line|^\s*#*-*\s*(répondez|veuillez répondre) au-dessus de cette ligne|^\s*#*-*\s*responda acima desta linha/i;

/** Split a reply into the writer's own text and the quoted history. */
export function humanPart(text: string, markers: readonly RegExp[] = DEFAULT_NOTICE_MARKERS): HumanPart {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const kept: string[] = [];
  let quote: string | undefined;
  const note = (what: string): void => {
    quote ??= what;
  };
  const nextTextLine = (from: number): string | undefined => {
    for (let j = from; j < lines.length; j++) if (lines[j]!.trim()) return lines[j];
    return undefined;
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*>/.test(line)) {
      note("'>' quoting");
      continue;
    }
    if (SIGNATURE.test(line)) break;
    if (TICKET_BANNER.test(line)) {
      // at the top it only asks the writer where to type; further down it marks the history
      if (kept.some((l) => l.trim())) {
        note('a ticket-system "reply above this line" banner');
        break;
      }
      continue;
    }
    if (SEPARATORS.some((s) => s.re.test(line))) {
      note(SEPARATORS.find((s) => s.re.test(line))!.name);
      break;
    }
    if (RULE_LINE.test(line) && HEADER_START.test(nextTextLine(i + 1) ?? '')) {
      note('an Outlook header block');
      break;
    }
    if (HEADER_START.test(line) && lines.slice(i + 1, i + 5).some((l) => HEADER_FOLLOW.test(l))) {
      note('an Outlook header block');
      break;
    }
    const attribution = matchAttribution(lines, i);
    if (attribution) {
      const after = nextTextLine(i + attribution.span);
      note(attribution.name);
      if (after !== undefined && /^\s*>/.test(after)) {
        // quoted below: only the attribution goes; the writer may answer after the quote (bottom-posting)
        i += attribution.span - 1;
        continue;
      }
      break;
    }
    if (markers.some((m) => m.test(line))) {
      note('a copy of our notice');
      break;
    }
    kept.push(line);
  }
  return { text: kept.join('\n').replace(/\n{3,}/g, '\n\n').trim(), quote };
}

function matchAttribution(lines: readonly string[], i: number): { name: string; span: number } | undefined {
  for (let span = 1; span <= 3 && i + span <= lines.length; span++) {
    const joined = lines.slice(i, i + span).join(' ');
    if (joined.length > 400) break;
    // a wrapped attribution starts on its first line: "On ...", not in the sentence before it
    const hit = ATTRIBUTIONS.find((a) => (span === 1 || a.wraps) && a.re.test(joined) && !/[.!?]\s*$/.test(lines[i]!));
    if (hit) return { name: hit.name, span };
  }
  return undefined;
}
