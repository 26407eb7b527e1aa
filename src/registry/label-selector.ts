// Label selectors in the full syntax of k8s.io/apimachinery/pkg/labels: `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
// `a notin (x)`, `a`, `!a`, comma-joined (AND). Parse errors are reported the way kube-apiserver reports them.
import { isQualifiedName, isValidLabelValue } from '../api/meta/object-meta-validation.js';

type Operator = 'in' | 'notin' | 'exists' | '!' | '=' | '==' | '!=';

interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

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

const tokenPattern = /\s*(\(|\)|,|!=|==|=|!|[^\s(),=!]+)/y;

function tokenize(input: string): string[] {
  const tokens: string[] = [];
  tokenPattern.lastIndex = 0;
  while (tokenPattern.lastIndex < input.length) {
    const start = tokenPattern.lastIndex;
    const match = tokenPattern.exec(input);
    if (!match) {
      if (input.slice(start).trim() === '') break;
      throw new SelectorParseError(`unable to parse requirement: found '${input.slice(start)}'`);
    }
    tokens.push(match[1]!);
  }
  return tokens;
}

function checkKey(key: string): void {
  const errs = isQualifiedName(key);
  if (errs.length > 0) throw new SelectorParseError(`unable to parse requirement: values[0][${key}]: Invalid value: "${key}": ${errs.join('; ')}`);
}

function checkValue(key: string, value: string): void {
  const errs = isValidLabelValue(value);
  if (errs.length > 0) throw new SelectorParseError(`unable to parse requirement: values[0][${key}]: Invalid value: "${value}": ${errs.join('; ')}`);
}

export function parseLabelSelector(input: string | undefined): LabelSelector {
  const requirements: Requirement[] = [];
  const tokens = tokenize(input ?? '');
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  const take = (): string => {
    const token = tokens[i++];
    if (token === undefined) throw new SelectorParseError(`found '', expected: identifier`);
    return token;
  };
  while (i < tokens.length) {
    let token = take();
    if (token === '!') {
      const key = take();
      checkKey(key);
      requirements.push({ key, operator: '!', values: [] });
    } else {
      const key = token;
      if (['(', ')', ',', '=', '==', '!='].includes(key)) throw new SelectorParseError(`found '${key}', expected: !, identifier, or 'end of string'`);
      checkKey(key);
      const next = peek();
      if (next === undefined || next === ',') {
        requirements.push({ key, operator: 'exists', values: [] });
      } else if (next === '=' || next === '==' || next === '!=') {
        i++;
        const following = peek();
        const value = following === undefined || following === ',' ? '' : take();
        checkValue(key, value);
        requirements.push({ key, operator: next, values: [value] });
      } else if (next === 'in' || next === 'notin') {
        i++;
        if (take() !== '(') throw new SelectorParseError(`found '${tokens[i - 1]}', expected: '('`);
        const values: string[] = [];
        for (;;) {
          token = take();
          if (token === ')') break;
          if (token === ',') continue;
          checkValue(key, token);
          values.push(token);
        }
        if (values.length === 0 && next === 'in') throw new SelectorParseError(`for 'in', 'notin' operators, values set can't be empty`);
        requirements.push({ key, operator: next, values });
      } else {
        throw new SelectorParseError(`found '${next}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    }
    if (i < tokens.length) {
      if (take() !== ',') throw new SelectorParseError(`found '${tokens[i - 1]}', expected: ',' or 'end of string'`);
      if (i >= tokens.length) throw new SelectorParseError(`found '', expected: identifier after ','`);
    }
  }
  return {
    empty: requirements.length === 0,
    matches(labels) {
      return requirements.every((r) => {
        const has = labels !== undefined && Object.hasOwn(labels, r.key);
        const value = has ? labels![r.key]! : undefined;
        switch (r.operator) {
          case 'exists':
            return has;
          case '!':
            return !has;
          case '=':
          case '==':
          case 'in':
            return has && r.values.includes(value!);
          case '!=':
          case 'notin':
            return !has || !r.values.includes(value!);
        }
      });
    },
  };
}
