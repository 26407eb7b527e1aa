// Label selectors parsed and matched as k8s.io/apimachinery/pkg/labels.Parse (v0.32.2) does for kube-apiserver's
// `?labelSelector=`: the same tokens, the same accepted inputs, the same error messages word for word.
import { goQuote } from '../api/meta/field-errors.js';
import { isQualifiedName, isValidLabelValue } from '../api/meta/object-meta-validation.js';

type Requirement =
  | { key: string; operator: 'exists' | '!' }
  | { key: string; operator: '=' | '==' | '!='; value: string }
  | { key: string; operator: 'in' | 'notin'; values: ValueList }
  /** `>` and `<`, called gt and lt in kube's operator list. */
  | { key: string; operator: 'gt' | 'lt'; bound: bigint };

type Operator = Requirement['operator'];

/** A short list is scanned as kube scans it, sparing a Set per term; a long one is hashed so matching stays linear. */
type ValueList = readonly string[] | ReadonlySet<string>;
const hashedFrom = 16;
const listHas = (list: ValueList, value: string): boolean => (Array.isArray(list) ? list.includes(value) : (list as ReadonlySet<string>).has(value));

export interface LabelSelector {
  matches(labels: Record<string, string> | undefined): boolean;
  readonly empty: boolean;
}

export class SelectorParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorParseError';
  }
}

const enum Token {
  EndOfString,
  ClosedPar,
  Comma,
  DoesNotExist,
  DoubleEquals,
  Equals,
  GreaterThan,
  Identifier,
  In,
  LessThan,
  NotEquals,
  NotIn,
  OpenPar,
}

const symbolTokens: Readonly<Record<string, Token>> = Object.assign(Object.create(null) as Record<string, Token>, {
  ')': Token.ClosedPar,
  ',': Token.Comma,
  '!': Token.DoesNotExist,
  '==': Token.DoubleEquals,
  '=': Token.Equals,
  '>': Token.GreaterThan,
  '<': Token.LessThan,
  '!=': Token.NotEquals,
  '(': Token.OpenPar,
});

/** kube's lexer knows only these four as whitespace: a vertical tab or a no-break space is part of a word. */
const isWhitespace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
const isSpecialSymbol = (c: number): boolean =>
  c === 0x3d || c === 0x21 || c === 0x28 || c === 0x29 || c === 0x2c || c === 0x3e || c === 0x3c;
/** A word runs to the next whitespace, special symbol or NUL; a regular expression scans it without a loop per character. */
const word = /[^ \t\r\n=!(),<>\0]*/y;

/**
 * kube's lexer, read one token ahead. Every special symbol alone is a token and `==`, `!=` are the only longer ones,
 * so kube's longest-match scan never yields its error token, and scanning all first as kube does cannot fail
 * before parsing would. A NUL where a token would start ends the input, as kube's reader returns 0 at the end; a
 * NUL right after a token is swallowed with it.
 */
class Lexer {
  private pos = 0;
  /** The text of the token `next` returned last. */
  literal = '';

  constructor(private readonly input: string) {}

  next(): Token {
    const input = this.input;
    const n = input.length;
    let pos = this.pos;
    while (pos < n && isWhitespace(input.charCodeAt(pos))) pos++;
    if (pos >= n || input.charCodeAt(pos) === 0) {
      this.pos = pos;
      this.literal = '';
      return Token.EndOfString;
    }
    const start = pos;
    const c = input.charCodeAt(pos);
    let token: Token;
    if (isSpecialSymbol(c)) {
      pos += (c === 0x3d || c === 0x21) && input.charCodeAt(pos + 1) === 0x3d ? 2 : 1;
      this.literal = input.slice(start, pos);
      token = symbolTokens[this.literal]!;
    } else {
      word.lastIndex = pos;
      word.test(input);
      pos = word.lastIndex;
      this.literal = input.slice(start, pos);
      token = this.literal === 'in' ? Token.In : this.literal === 'notin' ? Token.NotIn : Token.Identifier;
    }
    this.pos = input.charCodeAt(pos) === 0 ? pos + 1 : pos;
    return token;
  }
}

/** UTF-8 byte order, which Go's sort.Strings uses: code point order, where UTF-16 code units put U+E000… after surrogates. */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x += x < 0xe000 ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y < 0xe000 ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}

const minInt64 = -(2n ** 63n);
const maxInt64 = 2n ** 63n - 1n;

/** strconv.ParseInt(s, 10, 64): an optional sign and decimal digits within int64, or undefined. */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const value = BigInt(s);
  return value < minInt64 || value > maxInt64 ? undefined : value;
}

function operatorOf(token: Token): Operator | undefined {
  switch (token) {
    case Token.In:
      return 'in';
    case Token.NotIn:
      return 'notin';
    case Token.Equals:
      return '=';
    case Token.DoubleEquals:
      return '==';
    case Token.NotEquals:
      return '!=';
    case Token.GreaterThan:
      return 'gt';
    case Token.LessThan:
      return 'lt';
    default:
      return undefined;
  }
}

/** Valid keys without a prefix and valid values, the length limit written into the pattern: one test each, no arrays. */
const plainKey = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const plainValue = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/**
 * The checks kube's NewRequirement makes once values are read: `>`/`<` bounds must be int64s, every value a label
 * value. Paths index the values in sorted order. Called only once a value failed the quick checks.
 */
function requirementErrors(key: string, operator: Operator, set: Iterable<string>): string[] {
  const values = [...new Set(set)].sort(compareCodePoints);
  const errs: string[] = [];
  if (operator === 'gt' || operator === 'lt') {
    values.forEach((v, i) => {
      if (parseInt64(v) === undefined) errs.push(`values[${i}]: Invalid value: ${goQuote(v)}: for 'Gt', 'Lt' operators, the value must be an integer`);
    });
  }
  values.forEach((v, i) => {
    const msgs = isValidLabelValue(v);
    if (msgs.length > 0) errs.push(`values[${i}][${key}]: Invalid value: ${goQuote(v)}: ${msgs.join('; ')}`);
  });
  return errs;
}

function fail(errs: string[]): never {
  throw new SelectorParseError(errs.length === 1 ? errs[0]! : `[${errs.join(', ')}]`);
}

class Parser {
  /** The lookahead token and its text; `previous` is the text of the token consumed last. */
  private token: Token;
  private literal: string;
  private previous = '';

  constructor(private readonly lexer: Lexer) {
    this.token = lexer.next();
    this.literal = lexer.literal;
  }

  /** In value position kube reads `in` and `notin` as plain words: `a=in` and `in in (in)` are valid. */
  private lookahead(): Token {
    return this.token === Token.In || this.token === Token.NotIn ? Token.Identifier : this.token;
  }

  private consume(): Token {
    const token = this.lookahead();
    this.advance();
    return token;
  }

  private advance(): void {
    this.previous = this.literal;
    if (this.token === Token.EndOfString) return;
    this.token = this.lexer.next();
    this.literal = this.lexer.literal;
  }

  parse(): Requirement[] {
    const requirements: Requirement[] = [];
    for (;;) {
      const token = this.lookahead();
      if (token === Token.EndOfString) return requirements;
      if (token !== Token.Identifier && token !== Token.DoesNotExist) {
        throw new SelectorParseError(`found '${this.literal}', expected: !, identifier, or 'end of string'`);
      }
      try {
        requirements.push(this.parseRequirement());
      } catch (error) {
        if (error instanceof SelectorParseError) throw new SelectorParseError(`unable to parse requirement: ${error.message}`);
        throw error;
      }
      const next = this.consume();
      if (next === Token.EndOfString) return requirements;
      if (next !== Token.Comma) throw new SelectorParseError(`found '${this.previous}', expected: ',' or 'end of string'`);
      const after = this.lookahead();
      if (after !== Token.Identifier && after !== Token.DoesNotExist) {
        throw new SelectorParseError(`found '${this.literal}', expected: identifier after ','`);
      }
    }
  }

  private parseRequirement(): Requirement {
    let token = this.consume();
    const absent = token === Token.DoesNotExist;
    if (absent) token = this.consume();
    const key = this.previous;
    if (token !== Token.Identifier) throw new SelectorParseError(`found '${key}', expected: identifier`);
    if (!plainKey.test(key)) {
      // The key is checked with a nil field path, which Go prints as <nil>.
      const errs = isQualifiedName(key);
      if (errs.length > 0) throw new SelectorParseError(`<nil>: Invalid value: ${goQuote(key)}: ${errs.join('; ')}`);
    }
    if (absent) return { key, operator: '!' };
    const next = this.lookahead();
    if (next === Token.EndOfString || next === Token.Comma) return { key, operator: 'exists' };

    // Operators are read before `in`/`notin` turn into words: this is the one place they are keywords.
    const operator = operatorOf(this.token);
    this.advance();
    switch (operator) {
      case undefined:
        throw new SelectorParseError(`found '${this.previous}', expected: in, notin, =, ==, !=, gt, lt`);
      case 'in':
      case 'notin': {
        const values = this.parseValues();
        for (const v of values) if (!plainValue.test(v)) fail(requirementErrors(key, operator, values));
        return { key, operator, values: values.length < hashedFrom ? values : new Set(values) };
      }
      case 'gt':
      case 'lt': {
        const value = this.parseExactValue();
        const bound = parseInt64(value);
        if (bound === undefined || !plainValue.test(value)) fail(requirementErrors(key, operator, [value]));
        return { key, operator, bound };
      }
      default: {
        const value = this.parseExactValue();
        if (!plainValue.test(value)) fail(requirementErrors(key, operator, [value]));
        return { key, operator, value };
      }
    }
  }

  /** The values as read, repeats included: kube keeps a set, which only the order of error messages can tell. */
  private parseValues(): string[] {
    if (this.consume() !== Token.OpenPar) throw new SelectorParseError(`found '${this.previous}' expected: '('`);
    const token = this.lookahead();
    if (token === Token.ClosedPar) {
      this.advance();
      return [''];
    }
    if (token !== Token.Identifier && token !== Token.Comma) {
      throw new SelectorParseError(`found '${this.literal}', expected: ',', ')' or identifier`);
    }
    const values = this.parseIdentifiersList();
    this.advance();
    return values;
  }

  /** Reads up to the closing parenthesis, left for the caller; an empty place between commas is the value "". */
  private parseIdentifiersList(): string[] {
    const values: string[] = [];
    for (;;) {
      const token = this.consume();
      if (token === Token.Identifier) {
        values.push(this.previous);
        const next = this.lookahead();
        if (next === Token.ClosedPar) return values;
        if (next !== Token.Comma) throw new SelectorParseError(`found '${this.literal}', expected: ',' or ')'`);
      } else if (token === Token.Comma) {
        if (values.length === 0) values.push('');
        const next = this.lookahead();
        if (next === Token.ClosedPar) {
          values.push('');
          return values;
        }
        if (next === Token.Comma) {
          this.advance();
          values.push('');
        }
      } else {
        throw new SelectorParseError(`found '${this.previous}', expected: ',', or identifier`);
      }
    }
  }

  private parseExactValue(): string {
    const next = this.lookahead();
    if (next === Token.EndOfString || next === Token.Comma) return '';
    if (this.consume() !== Token.Identifier) throw new SelectorParseError(`found '${this.previous}', expected: identifier`);
    return this.previous;
  }
}

function matchesRequirement(r: Requirement, labels: Record<string, string> | undefined): boolean {
  const value = labels !== undefined && Object.hasOwn(labels, r.key) ? labels[r.key]! : undefined;
  switch (r.operator) {
    case 'exists':
      return value !== undefined;
    case '!':
      return value === undefined;
    case '=':
    case '==':
      return value === r.value;
    case '!=':
      return value !== r.value;
    case 'in':
      return value !== undefined && listHas(r.values, value);
    case 'notin':
      return value === undefined || !listHas(r.values, value);
    case 'gt':
    case 'lt': {
      // A label whose value is not an int64 fails `>` and `<` alike, as kube's strconv.ParseInt failure does.
      const n = value === undefined ? undefined : parseInt64(value);
      if (n === undefined) return false;
      return r.operator === 'gt' ? n > r.bound : n < r.bound;
    }
  }
}

export function parseLabelSelector(input: string | undefined): LabelSelector {
  const requirements = new Parser(new Lexer(input ?? '')).parse();
  return {
    empty: requirements.length === 0,
    matches: (labels) => requirements.every((r) => matchesRequirement(r, labels)),
  };
}
