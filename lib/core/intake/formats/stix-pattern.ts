

/**
 * STIX 2.1 patterning (spec section 9): a tokenizer and a recursive-descent parser for the whole grammar, then
 * an extractor that accepts only the subset an orchestrator can act on without guessing: `=` comparisons over
 * `ipv4-addr:value`, `ipv6-addr:value`, `domain-name:value` and `url:value`, joined by AND/OR, in observation
 * brackets, with parentheses. The grammar is parsed whole so that what lies outside the subset is named
 * ("the MATCHES operator", "the WITHIN qualifier"), and a pattern that is not STIX at all is told apart from one
 * that is valid but unsupported. Messages name constructs and columns, never the pattern's values.
 */

type TokenKind =
  | 'lbracket'
  | 'rbracket'
  | 'lparen'
  | 'rparen'
  | 'colon'
  | 'dot'
  | 'comma'
  | 'star'
  | 'op'
  | 'keyword'
  | 'ident'
  | 'string'
  | 'int'
  | 'float'
  | 'timestamp'
  | 'hex'
  | 'binary'
  | 'bool'
  | 'end';

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** 0-based offset in the pattern */
  readonly pos: number;
}

const KEYWORDS: ReadonlySet<string> = new Set([
  'AND', 'OR', 'NOT', 'FOLLOWEDBY', 'LIKE', 'MATCHES', 'ISSUPERSET', 'ISSUBSET', 'LAST', 'IN', 'EXISTS',
  'START', 'STOP', 'SECONDS', 'WITHIN', 'REPEATS', 'TIMES',
]);

/** A literal as written; `value` is the decoded text (escapes undone for strings). */
export interface Literal {
  readonly type: 'string' | 'int' | 'float' | 'timestamp' | 'hex' | 'binary' | 'bool';
  readonly value: string;
}

export type PathStep = { readonly property: string } | { readonly index: number | '*' };

export interface ObjectPath {
  readonly objectType: string;
  readonly steps: readonly PathStep[];
}

export type ComparisonExpr =
  | { readonly kind: 'and' | 'or'; readonly left: ComparisonExpr; readonly right: ComparisonExpr }
  | { readonly kind: 'test'; readonly path: ObjectPath; readonly negated: boolean; readonly op: string; readonly values: readonly Literal[] }
  | { readonly kind: 'exists'; readonly path: ObjectPath };

export type ObservationExpr =
  | { readonly kind: 'observation'; readonly comparison: ComparisonExpr }
  | { readonly kind: 'and' | 'or' | 'followedby'; readonly left: ObservationExpr; readonly right: ObservationExpr }
  | { readonly kind: 'qualified'; readonly qualifier: 'WITHIN' | 'REPEATS' | 'START/STOP'; readonly expr: ObservationExpr };

export type PatternParse = { ok: true; pattern: ObservationExpr } | { ok: false; reason: string };

class PatternSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly pos: number,
  ) {
    super(reason);
  }
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

const isIdentStart = (c: string | undefined): boolean => c !== undefined && /[A-Za-z_]/.test(c);

const isIdentPart = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_-]/.test(c);

/** Splits a pattern into tokens; a quoted literal keeps its decoded text. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  const push = (kind: TokenKind, t: string, pos: number) => tokens.push({ kind, text: t, pos });
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
      continue;
    }
    const start = i;
    const single: Partial<Record<string, TokenKind>> = { '[': 'lbracket', ']': 'rbracket', '(': 'lparen', ')': 'rparen', ':': 'colon', '.': 'dot', ',': 'comma', '*': 'star' };
    const kind = single[c];
    if (kind) {
      push(kind, c, start);
      i++;
      continue;
    }
    if (c === "'") {
      push('string', readQuoted(text, i + 1, start), start);
      i = skipQuoted(text, i + 1);
      continue;
    }
    if ((c === 't' || c === 'h' || c === 'b') && text[i + 1] === "'") {
      const body = readQuoted(text, i + 2, start);
      i = skipQuoted(text, i + 2);
      const typed: Record<string, TokenKind> = { t: 'timestamp', h: 'hex', b: 'binary' };
      push(typed[c]!, body, start);
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === '==' || two === '!=' || two === '<>' || two === '<=' || two === '>=') {
      push('op', two, start);
      i += 2;
      continue;
    }
    if (c === '=' || c === '<' || c === '>') {
      push('op', c, start);
      i++;
      continue;
    }
    if (isDigit(c) || ((c === '-' || c === '+') && (isDigit(text[i + 1]) || (text[i + 1] === '.' && isDigit(text[i + 2]))))) {
      i++;
      while (isDigit(text[i])) i++;
      let float = false;
      if (text[i] === '.' && isDigit(text[i + 1])) {
        float = true;
        i++;
        while (isDigit(text[i])) i++;
      }
      if (isIdentStart(text[i])) throw new PatternSyntaxError('a number runs into a name', i);
      push(float ? 'float' : 'int', text.slice(start, i), start);
      continue;
    }
    if (isIdentStart(c)) {
      i++;
      while (isIdentPart(text[i])) i++;
      const word = text.slice(start, i);
      if (KEYWORDS.has(word)) push('keyword', word, start);
      else if (word === 'true' || word === 'false') push('bool', word, start);
      else push('ident', word, start);
      continue;
    }
    throw new PatternSyntaxError(`unexpected character '${c === '"' ? '"' : c.replace(/[^\x21-\x7e]/g, '?')}'`, i);
  }
  tokens.push({ kind: 'end', text: '', pos: n });
  return tokens;
}

/** The decoded body of a quoted literal starting after its opening quote; only \' and \\ are escapes in STIX. */
function readQuoted(text: string, from: number, start: number): string {
  let out = '';
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      const next = text[i + 1];
      if (next === "'" || next === '\\') {
        out += next;
        i++;
        continue;
      }
      throw new PatternSyntaxError("a backslash in a string that escapes neither ' nor \\", i);
    }
    if (c === "'") return out;
    out += c;
  }
  throw new PatternSyntaxError('a quoted string is not closed', start);
}

function skipQuoted(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === "'") return i + 1;
  }
  return text.length;
}

/** Recursive descent over the STIX 2.1 pattern grammar (observation and comparison levels). */
class Parser {
  private i = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  parsePattern(): ObservationExpr {
    const expr = this.observationExpressions();
    const t = this.peek();
    if (t.kind !== 'end') throw this.unexpected(t);
    return expr;
  }

  private peek(): Token {
    return this.tokens[this.i]!;
  }

  private next(): Token {
    const t = this.tokens[this.i]!;
    if (t.kind !== 'end') this.i++;
    return t;
  }

  private isKeyword(word: string): boolean {
    const t = this.peek();
    return t.kind === 'keyword' && t.text === word;
  }

  private expect(kind: TokenKind, what: string): Token {
    const t = this.peek();
    if (t.kind !== kind) throw new PatternSyntaxError(`expected ${what}, found ${describe(t)}`, t.pos);
    return this.next();
  }

  private unexpected(t: Token): PatternSyntaxError {
    return new PatternSyntaxError(`did not expect ${describe(t)} here`, t.pos);
  }

  // FOLLOWEDBY binds loosest, then OR, then AND (spec 9.5, operator precedence)
  private observationExpressions(): ObservationExpr {
    let left = this.observationOr();
    while (this.isKeyword('FOLLOWEDBY')) {
      this.next();
      left = { kind: 'followedby', left, right: this.observationOr() };
    }
    return left;
  }

  private observationOr(): ObservationExpr {
    let left = this.observationAnd();
    while (this.isKeyword('OR')) {
      this.next();
      left = { kind: 'or', left, right: this.observationAnd() };
    }
    return left;
  }

  private observationAnd(): ObservationExpr {
    let left = this.observation();
    while (this.isKeyword('AND')) {
      this.next();
      left = { kind: 'and', left, right: this.observation() };
    }
    return left;
  }

  private observation(): ObservationExpr {
    const t = this.peek();
    let expr: ObservationExpr;
    if (t.kind === 'lbracket') {
      this.next();
      if (this.peek().kind === 'rbracket') throw new PatternSyntaxError('an empty observation []', this.peek().pos);
      expr = { kind: 'observation', comparison: this.comparisonOr() };
      this.expect('rbracket', "']'");
    } else if (t.kind === 'lparen') {
      this.next();
      expr = this.observationExpressions();
      this.expect('rparen', "')'");
    } else {
      throw new PatternSyntaxError(`expected '[' or '(', found ${describe(t)}`, t.pos);
    }
    // qualifiers are postfix and may repeat
    for (;;) {
      if (this.isKeyword('WITHIN')) {
        this.next();
        const n = this.peek();
        if ((n.kind !== 'int' && n.kind !== 'float') || n.text.startsWith('-')) throw new PatternSyntaxError('WITHIN needs a positive number of seconds', n.pos);
        this.next();
        if (!this.isKeyword('SECONDS')) throw new PatternSyntaxError('expected SECONDS after WITHIN <n>', this.peek().pos);
        this.next();
        expr = { kind: 'qualified', qualifier: 'WITHIN', expr };
      } else if (this.isKeyword('REPEATS')) {
        this.next();
        const n = this.peek();
        if (n.kind !== 'int' || n.text.startsWith('-')) throw new PatternSyntaxError('REPEATS needs a positive whole number', n.pos);
        this.next();
        if (!this.isKeyword('TIMES')) throw new PatternSyntaxError('expected TIMES after REPEATS <n>', this.peek().pos);
        this.next();
        expr = { kind: 'qualified', qualifier: 'REPEATS', expr };
      } else if (this.isKeyword('START')) {
        this.next();
        this.expect('timestamp', "a t'...' timestamp after START");
        if (!this.isKeyword('STOP')) throw new PatternSyntaxError('expected STOP after START t\'...\'', this.peek().pos);
        this.next();
        this.expect('timestamp', "a t'...' timestamp after STOP");
        expr = { kind: 'qualified', qualifier: 'START/STOP', expr };
      } else {
        return expr;
      }
    }
  }

  private comparisonOr(): ComparisonExpr {
    let left = this.comparisonAnd();
    while (this.isKeyword('OR')) {
      this.next();
      left = { kind: 'or', left, right: this.comparisonAnd() };
    }
    return left;
  }

  private comparisonAnd(): ComparisonExpr {
    let left = this.propTest();
    while (this.isKeyword('AND')) {
      this.next();
      left = { kind: 'and', left, right: this.propTest() };
    }
    return left;
  }

  private propTest(): ComparisonExpr {
    const t = this.peek();
    if (t.kind === 'lparen') {
      this.next();
      const inner = this.comparisonOr();
      this.expect('rparen', "')'");
      return inner;
    }
    if (this.isKeyword('EXISTS')) {
      this.next();
      return { kind: 'exists', path: this.objectPath() };
    }
    const path = this.objectPath();
    let negated = false;
    if (this.isKeyword('NOT')) {
      this.next();
      negated = true;
    }
    const opToken = this.peek();
    if (opToken.kind === 'op') {
      this.next();
      return { kind: 'test', path, negated, op: opToken.text === '==' ? '=' : opToken.text, values: [this.literal()] };
    }
    if (opToken.kind === 'keyword' && ['LIKE', 'MATCHES', 'ISSUBSET', 'ISSUPERSET'].includes(opToken.text)) {
      this.next();
      const s = this.expect('string', `a quoted string after ${opToken.text}`);
      return { kind: 'test', path, negated, op: opToken.text, values: [{ type: 'string', value: s.text }] };
    }
    if (opToken.kind === 'keyword' && opToken.text === 'IN') {
      this.next();
      this.expect('lparen', "'(' after IN");
      const values: Literal[] = [];
      if (this.peek().kind !== 'rparen') {
        values.push(this.literal());
        while (this.peek().kind === 'comma') {
          this.next();
          values.push(this.literal());
        }
      }
      this.expect('rparen', "')' closing the IN set");
      return { kind: 'test', path, negated, op: 'IN', values };
    }
    throw new PatternSyntaxError(`expected a comparison operator, found ${describe(opToken)}`, opToken.pos);
  }

  private objectPath(): ObjectPath {
    const type = this.expect('ident', 'an object type such as ipv4-addr');
    this.expect('colon', "':' after the object type");
    const first = this.peek();
    if (first.kind !== 'ident' && first.kind !== 'string') throw new PatternSyntaxError(`expected a property name, found ${describe(first)}`, first.pos);
    this.next();
    const steps: PathStep[] = [{ property: first.text }];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'dot') {
        this.next();
        const p = this.peek();
        if (p.kind !== 'ident' && p.kind !== 'string') throw new PatternSyntaxError(`expected a property name after '.', found ${describe(p)}`, p.pos);
        this.next();
        steps.push({ property: p.text });
      } else if (t.kind === 'lbracket') {
        this.next();
        const idx = this.peek();
        if (idx.kind === 'star') steps.push({ index: '*' });
        else if (idx.kind === 'int') steps.push({ index: Number(idx.text) });
        else throw new PatternSyntaxError(`expected a list index or '*', found ${describe(idx)}`, idx.pos);
        this.next();
        this.expect('rbracket', "']' after the list index");
      } else {
        return { objectType: type.text, steps };
      }
    }
  }

  private literal(): Literal {
    const t = this.peek();
    const types: Partial<Record<TokenKind, Literal['type']>> = {
      string: 'string', int: 'int', float: 'float', timestamp: 'timestamp', hex: 'hex', binary: 'binary', bool: 'bool',
    };
    const type = types[t.kind];
    if (!type) throw new PatternSyntaxError(`expected a value, found ${describe(t)}`, t.pos);
    this.next();
    return { type, value: t.text };
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'end':
      return 'the end of the pattern';
    case 'keyword':
      return t.text;
    case 'ident':
      return 'a name';
    case 'string':
    case 'timestamp':
    case 'hex':
    case 'binary':
      return 'a quoted value';
    case 'int':
    case 'float':
    case 'bool':
      return 'a value';
    default:
      return `'${t.text}'`;
  }
}

/** Parses a STIX 2.1 pattern; a syntax error says what and where (column, 1-based). */
export function parseStixPattern(text: string): PatternParse {
  try {
    return { ok: true, pattern: new Parser(tokenize(text)).parsePattern() };
  } catch (e) {
    if (e instanceof PatternSyntaxError) return { ok: false, reason: `${e.reason} at column ${e.pos + 1}` };
    throw e;
  }
}
