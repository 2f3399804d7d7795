/**
 * A value that the plain-text notice prints on one line of its own (a threat, a party's or a campaign's name, a
 * probe's detail) with every line break, and every other control character, turned into a space: a submitted
 * field must not start lines of its own in a notice, where they would read as ours ("To the abuse team: ...").
 */
export function oneLine(value: string): string;
export function oneLine(value: string | undefined): string | undefined;
export function oneLine(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  // \s covers \n \r \v \f and U+2028/2029; NEL (U+0085) and the other C0/C1 controls are not spaces to it
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\s\u0085\x00-\x1f\x7f-\x9f]+/g, ' ').trim();
}
