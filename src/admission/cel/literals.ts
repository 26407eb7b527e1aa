// Compile-time checks kube's environment makes that @bufbuild/cel, which has no type checker, does not: aggregate
// literals must be homogeneous (cel.HomogeneousAggregateLiterals: `[object.a, 1]` is refused, dyn is not int), a
// constant `matches` pattern must compile (cel.ValidateRegexLiterals), and == between two values of certain, different
// types has no overload (`1 == 1.0`). Types are inferred only where they are certain;
// a literal with an element of uncertain type is left alone.
import type { Expr } from './syntax.js';
import { children, optIndex, optList, optMap, optSelect } from './syntax.js';

export interface LiteralIssue {
  id: bigint;
  message: string;
  /** The issue is placed at the call's parenthesis (cel-go places a call's error there). */
  call: boolean;
}

type Scope = ReadonlySet<string>;

function constType(expr: Expr): string | undefined {
  if (expr.exprKind.case !== 'constExpr') return undefined;
  switch (expr.exprKind.value.constantKind.case) {
    case 'int64Value':
      return 'int';
    case 'uint64Value':
      return 'uint';
    case 'doubleValue':
      return 'double';
    case 'stringValue':
      return 'string';
    case 'boolValue':
      return 'bool';
    case 'bytesValue':
      return 'bytes';
    case 'nullValue':
      return 'null';
    default:
      return undefined;
  }
}

const boolOperators = new Set(['_==_', '_!=_', '_<_', '_<=_', '_>_', '_>=_', '_&&_', '_||_', '!_', '@in']);

function typeOf(expr: Expr, variables: Scope): string | undefined {
  const kind = expr.exprKind;
  switch (kind.case) {
    case 'constExpr':
      return constType(expr);
    case 'identExpr':
      return variables.has(kind.value.name) ? 'dyn' : undefined;
    case 'selectExpr':
      if (kind.value.testOnly) return 'bool';
      return kind.value.operand && typeOf(kind.value.operand, variables) === 'dyn' ? 'dyn' : undefined;
    case 'listExpr': {
      if (kind.value.elements.length === 0) return undefined;
      const element = typeOf(kind.value.elements[0]!, variables);
      return element === undefined ? undefined : `list(${element})`;
    }
    case 'structExpr': {
      const first = kind.value.entries[0];
      if (first === undefined || kind.value.messageName !== '' || first.keyKind.case !== 'mapKey' || !first.value) return undefined;
      const key = typeOf(first.keyKind.value, variables);
      const value = typeOf(first.value, variables);
      return key === undefined || value === undefined ? undefined : `map(${key}, ${value})`;
    }
    case 'callExpr': {
      const c = kind.value;
      if (boolOperators.has(c.function)) return 'bool';
      if (c.function === 'size' && c.args.length + (c.target ? 1 : 0) === 1) return 'int';
      if (c.function === optSelect || c.function === optIndex) {
        const operand = typeOf(c.args[0]!, variables);
        return operand === 'dyn' || operand === 'optional_type(dyn)' ? 'optional_type(dyn)' : undefined;
      }
      if (c.function === 'of' && c.target?.exprKind.case === 'identExpr' && c.target.exprKind.value.name === 'optional' && !variables.has('optional')) {
        const inner = c.args[0] && typeOf(c.args[0], variables);
        return inner === undefined ? undefined : `optional_type(${inner})`;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

function unwrapOptional(type: string | undefined): string | undefined {
  const match = type === undefined ? null : /^optional_type\((.*)\)$/.exec(type);
  return match === null ? undefined : match[1];
}

function firstMismatch(items: Array<{ expr: Expr; optional: boolean }>, variables: Scope): LiteralIssue | undefined {
  const types = items.map(({ expr, optional }) => {
    const type = typeOf(expr, variables);
    return optional ? unwrapOptional(type) : type;
  });
  if (types.some((t) => t === undefined)) return undefined;
  const expected = types[0]!;
  const index = types.findIndex((t) => t !== expected);
  if (index < 0) return undefined;
  const expr = items[index]!.expr;
  return { id: expr.id, message: `expected type '${expected}' but found '${types[index]}'`, call: expr.exprKind.case === 'callExpr' };
}

function literalIssue(expr: Expr, variables: Scope): LiteralIssue | undefined {
  const kind = expr.exprKind;
  if (kind.case === 'listExpr') return firstMismatch(kind.value.elements.map((e) => ({ expr: e, optional: false })), variables);
  if (kind.case === 'structExpr' && kind.value.messageName === '') {
    const entries = kind.value.entries.filter((e) => e.keyKind.case === 'mapKey' && e.value);
    return (
      firstMismatch(entries.map((e) => ({ expr: e.keyKind.value as Expr, optional: false })), variables) ??
      firstMismatch(entries.map((e) => ({ expr: e.value!, optional: e.optionalEntry })), variables)
    );
  }
  if (kind.case === 'callExpr' && kind.value.function === optList) {
    const [elements, indices] = kind.value.args;
    if (elements?.exprKind.case !== 'listExpr' || indices?.exprKind.case !== 'listExpr') return undefined;
    const marked = new Set(indices.exprKind.value.elements.map((e) => (e.exprKind.case === 'constExpr' ? Number(e.exprKind.value.constantKind.value) : -1)));
    return firstMismatch(elements.exprKind.value.elements.map((e, i) => ({ expr: e, optional: marked.has(i) })), variables);
  }
  if (kind.case === 'callExpr' && kind.value.function === optMap) {
    const [keys, values, indices] = kind.value.args;
    if (keys?.exprKind.case !== 'listExpr' || values?.exprKind.case !== 'listExpr' || indices?.exprKind.case !== 'listExpr') return undefined;
    const marked = new Set(indices.exprKind.value.elements.map((e) => (e.exprKind.case === 'constExpr' ? Number(e.exprKind.value.constantKind.value) : -1)));
    return (
      firstMismatch(keys.exprKind.value.elements.map((e) => ({ expr: e, optional: false })), variables) ??
      firstMismatch(values.exprKind.value.elements.map((e, i) => ({ expr: e, optional: marked.has(i) })), variables)
    );
  }
  return undefined;
}

/** The first literal kube would refuse, walking the expression in order; comprehension variables are of unknown type. */
export function checkLiterals(expr: Expr, variables: Scope, regexError: (pattern: string) => string | undefined): LiteralIssue | undefined {
  const kind = expr.exprKind;
  if (kind.case === 'callExpr' && kind.value.function === 'matches') {
    const pattern = kind.value.target ? kind.value.args[0] : kind.value.args[1];
    if (pattern?.exprKind.case === 'constExpr' && pattern.exprKind.value.constantKind.case === 'stringValue' && regexError(pattern.exprKind.value.constantKind.value) !== undefined) {
      return { id: pattern.id, message: 'invalid matches argument', call: false };
    }
  }
  // A list handed to string.format is meant to mix types: cel-go's validator exempts it.
  if (kind.case === 'callExpr' && kind.value.function === 'format' && kind.value.target && kind.value.args[0]?.exprKind.case === 'listExpr') {
    for (const child of [kind.value.target, ...children(kind.value.args[0])]) {
      const found = checkLiterals(child, variables, regexError);
      if (found) return found;
    }
    return undefined;
  }
  if (kind.case === 'callExpr' && (kind.value.function === '_==_' || kind.value.function === '_!=_') && kind.value.args.length === 2) {
    const [left, right] = kind.value.args.map((arg) => typeOf(arg, variables));
    const certain = (t: string | undefined): t is string => t !== undefined && t !== 'dyn' && t !== 'null' && !t.includes('dyn');
    if (certain(left) && certain(right) && left !== right) {
      return { id: expr.id, message: `found no matching overload for '${kind.value.function}' applied to '(${left}, ${right})'`, call: false };
    }
  }
  const issue = literalIssue(expr, variables);
  if (issue !== undefined) return issue;
  if (kind.case === 'comprehensionExpr') {
    const c = kind.value;
    const inner = new Set(variables);
    for (const name of [c.iterVar, c.iterVar2, c.accuVar]) inner.delete(name);
    // Iterating a dyn value gives dyn elements.
    if (c.iterRange && typeOf(c.iterRange, variables) === 'dyn' && c.iterVar2 === '') inner.add(c.iterVar);
    for (const child of [c.iterRange, c.accuInit]) {
      const found = child && checkLiterals(child, variables, regexError);
      if (found) return found;
    }
    for (const child of [c.loopCondition, c.loopStep, c.result]) {
      const found = child && checkLiterals(child, inner, regexError);
      if (found) return found;
    }
    return undefined;
  }
  // The lists an optional literal was rewritten into were checked as that literal: check only what they hold.
  const optionalLiteral = kind.case === 'callExpr' && (kind.value.function === optList || kind.value.function === optMap);
  const parts = optionalLiteral ? children(expr).flatMap(children) : children(expr);
  for (const child of parts) {
    const found = checkLiterals(child, variables, regexError);
    if (found) return found;
  }
  return undefined;
}
