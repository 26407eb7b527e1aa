// Parsing for admission CEL: @bufbuild/cel's parser plus what kube enables that it lacks. Optional syntax (`a.?b`,
// `a[?k]`, `[?x]`, `{?k: v}`; cel.OptionalTypes) is rewritten into calls before parsing and into optional functions
// after, and every comprehension's loop condition is wrapped so each iteration is charged to the cost budget.
import { parse } from '@bufbuild/cel';

export type Expr = ReturnType<typeof parse>['expr'];

const selMark = '__opt_sel__';
const idxMark = '__opt_idx__';
const elemMark = '__opt_elem__';
const keyMark = '__opt_key__';

export const optSelect = '@opt_select';
export const optIndex = '@opt_index';
export const optList = '@opt_list';
export const optMap = '@opt_map';
export const chargeIteration = '@charge_iteration';

export type ParseResult =
  | { ok: true; expr: Expr; offsetOf(id: bigint): number; /** countAccesses of the whole expression. */ staticCost: number }
  | { ok: false; message: string };

/** Parses, giving a cel-go style message (ERROR: <input>:line:col: Syntax error: …, the line, a caret) on failure. */
export function parseCel(source: string): ParseResult {
  const rewritten = rewriteOptionalSyntax(source);
  let expr: Expr;
  let positions: Record<string, number>;
  try {
    const parsed = parse(rewritten.text);
    expr = parsed.expr;
    positions = (parsed.sourceInfo?.positions ?? {}) as Record<string, number>;
  } catch (error) {
    const location = (error as { location?: { start?: { offset?: number } } }).location?.start?.offset;
    const raw = (error as { rawMessage?: string }).rawMessage ?? (error as Error).message;
    const offset = location === undefined ? 0 : rewritten.origin(location);
    return { ok: false, message: errorAt(source, offset, `Syntax error: ${raw}`) };
  }
  const state = { nextId: maxId(expr) + 1n };
  const offsetOf = (id: bigint): number => {
    const position = positions[String(id)];
    return position === undefined ? 0 : rewritten.origin(position);
  };
  const fixed = fixUp(expr, state);
  return { ok: true, expr: fixed, offsetOf, staticCost: countAccesses(fixed) };
}

/** cel-go's layout of one compile error: `ERROR: <input>:1:5: message`, then the line and a caret under the column. */
export function errorAt(source: string, offset: number, message: string): string {
  const before = source.slice(0, offset);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const column = offset - lineStart;
  const text = source.slice(lineStart).split('\n')[0] ?? '';
  return `ERROR: <input>:${line}:${column + 1}: ${message}\n | ${text}\n | ${'.'.repeat(column)}^`;
}

interface Frame {
  kind: 'paren' | 'list' | 'map' | 'index' | 'optIndex' | 'struct';
  pending: boolean;
  ternaries: number;
}

function rewriteOptionalSyntax(source: string): { text: string; origin: (offset: number) => number } {
  let out = '';
  const origins: number[] = [];
  const emit = (text: string, origin: number): void => {
    out += text;
    for (let k = 0; k < text.length; k++) origins.push(origin);
  };
  const frames: Frame[] = [{ kind: 'paren', pending: false, ternaries: 0 }];
  const top = (): Frame => frames[frames.length - 1]!;
  let afterOperand = false;
  let afterIdent = false;
  const skipSpace = (from: number): number => {
    let j = from;
    while (j < source.length && /\s/.test(source[j]!)) j++;
    return j;
  };
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      emit(c, i);
      i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '/') {
      const end = source.indexOf('\n', i);
      const stop = end === -1 ? source.length : end;
      for (; i < stop; i++) emit(source[i]!, i);
      continue;
    }
    const stringStart = /^([rRbB]{0,2})('''|"""|'|")/.exec(source.slice(i, i + 5));
    if (stringStart !== null && (stringStart[1] === '' || !/[A-Za-z0-9_]/.test(source[i - 1] ?? ''))) {
      const raw = /[rR]/.test(stringStart[1]!);
      const quote = stringStart[2]!;
      let j = i + stringStart[0].length;
      while (j < source.length && !source.startsWith(quote, j)) {
        if (!raw && source[j] === '\\') j++;
        if (quote.length === 1 && source[j] === '\n') break;
        j++;
      }
      j = Math.min(source.length, j + quote.length);
      for (; i < j; i++) emit(source[i]!, i);
      afterOperand = true;
      afterIdent = false;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i))![0];
      emit(word, i);
      i += word.length;
      afterOperand = true;
      afterIdent = true;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const number = /^(0[xX][0-9a-fA-F]+|[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?)[uU]?/.exec(source.slice(i))![0];
      emit(number, i);
      i += number.length;
      afterOperand = true;
      afterIdent = false;
      continue;
    }
    if (c === '.' && source[skipSpace(i + 1)] === '?') {
      emit('.' + selMark, i);
      i = skipSpace(skipSpace(i + 1) + 1);
      afterOperand = false;
      continue;
    }
    if (c === '[' || c === '{' || c === '(') {
      const next = skipSpace(i + 1);
      const optional = c !== '(' && source[next] === '?';
      let kind: Frame['kind'] = c === '(' ? 'paren' : c === '{' ? (afterIdent ? 'struct' : 'map') : afterOperand ? 'index' : 'list';
      if (optional && kind === 'index') kind = 'optIndex';
      const frame: Frame = { kind, pending: false, ternaries: 0 };
      frames.push(frame);
      if (!optional) {
        emit(c, i);
        i++;
      } else if (kind === 'optIndex') {
        emit(`[${idxMark}(`, i);
        i = next + 1;
      } else {
        emit(`${c}${kind === 'map' ? keyMark : elemMark}(`, i);
        frame.pending = true;
        i = next + 1;
      }
      afterOperand = false;
      afterIdent = false;
      continue;
    }
    if (c === ']' || c === '}' || c === ')') {
      const frame = top();
      if (frame.pending || frame.kind === 'optIndex') emit(')', i);
      if (frames.length > 1) frames.pop();
      emit(c, i);
      i++;
      afterOperand = true;
      afterIdent = false;
      continue;
    }
    if (c === ',') {
      const frame = top();
      if (frame.pending) emit(')', i);
      frame.pending = false;
      emit(c, i);
      i++;
      const next = skipSpace(i);
      if ((frame.kind === 'list' || frame.kind === 'map') && source[next] === '?') {
        for (; i < next; i++) emit(source[i]!, i);
        emit(`${frame.kind === 'map' ? keyMark : elemMark}(`, i);
        frame.pending = true;
        i = next + 1;
      }
      afterOperand = false;
      afterIdent = false;
      continue;
    }
    if (c === '?') {
      top().ternaries++;
    } else if (c === ':') {
      const frame = top();
      if (frame.ternaries > 0) frame.ternaries--;
      else if (frame.kind === 'map' && frame.pending) {
        emit(')', i);
        frame.pending = false;
      }
    }
    emit(c, i);
    i++;
    afterOperand = false;
    afterIdent = false;
  }
  return { text: out, origin: (offset) => (offset < origins.length ? origins[offset]! : source.length) };
}

function maxId(expr: Expr | undefined): bigint {
  if (expr === undefined) return 0n;
  let max = expr.id;
  for (const child of children(expr)) {
    const id = maxId(child);
    if (id > max) max = id;
  }
  return max;
}

/** The sub-expressions of `expr`, in source order: the one walk the rewriter, the cost count and the literal checks share. */
export function children(expr: Expr): Expr[] {
  const kind = expr.exprKind;
  switch (kind.case) {
    case 'selectExpr':
      return kind.value.operand ? [kind.value.operand] : [];
    case 'callExpr':
      return [...(kind.value.target ? [kind.value.target] : []), ...kind.value.args];
    case 'listExpr':
      return kind.value.elements;
    case 'structExpr':
      return kind.value.entries.flatMap((entry) => [
        ...(entry.keyKind.case === 'mapKey' ? [entry.keyKind.value] : []),
        ...(entry.value ? [entry.value] : []),
      ]);
    case 'comprehensionExpr': {
      const c = kind.value;
      return [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result].filter((e): e is Expr => e !== undefined);
    }
    default:
      return [];
  }
}

function node(state: { nextId: bigint }, exprKind: Expr['exprKind']): Expr {
  return { id: state.nextId++, exprKind } as Expr;
}

function call(state: { nextId: bigint }, fn: string, args: Expr[]): Expr {
  return node(state, { case: 'callExpr', value: { function: fn, args, target: undefined } } as unknown as Expr['exprKind']);
}

function stringConst(state: { nextId: bigint }, value: string): Expr {
  return node(state, { case: 'constExpr', value: { constantKind: { case: 'stringValue', value } } } as unknown as Expr['exprKind']);
}

function intConst(state: { nextId: bigint }, value: number): Expr {
  return node(state, { case: 'constExpr', value: { constantKind: { case: 'int64Value', value: BigInt(value) } } } as unknown as Expr['exprKind']);
}

/**
 * What cel-go charges for the parts of an expression @bufbuild/cel evaluates without a call: one unit a variable read or
 * field selection, ten a list literal, thirty a map literal (cel-go's ListCreateBaseCost, MapCreateBaseCost); not
 * counting the iterations of comprehensions inside it, which charge their own.
 */
export function countAccesses(expr: Expr): number {
  const kind = expr.exprKind;
  if (kind.case === 'identExpr') return 1;
  if (kind.case === 'listExpr') return 10 + children(expr).reduce((sum, e) => sum + countAccesses(e), 0);
  if (kind.case === 'structExpr') return 30 + children(expr).reduce((sum, e) => sum + countAccesses(e), 0);
  if (kind.case === 'selectExpr' && !kind.value.testOnly) return 1 + (kind.value.operand ? countAccesses(kind.value.operand) : 0);
  if (kind.case === 'comprehensionExpr') {
    return [kind.value.iterRange, kind.value.accuInit].reduce((sum, e) => sum + (e ? countAccesses(e) : 0), 0);
  }
  return children(expr).reduce((sum, e) => sum + countAccesses(e), 0);
}

function intList(state: { nextId: bigint }, values: number[]): Expr {
  return list(state, values.map((v) => intConst(state, v)));
}

function list(state: { nextId: bigint }, elements: Expr[]): Expr {
  return node(state, { case: 'listExpr', value: { elements, optionalIndices: [] } } as unknown as Expr['exprKind']);
}

function ident(state: { nextId: bigint }, name: string): Expr {
  return node(state, { case: 'identExpr', value: { name } } as unknown as Expr['exprKind']);
}

function method(state: { nextId: bigint }, target: Expr, fn: string, args: Expr[]): Expr {
  return node(state, { case: 'callExpr', value: { function: fn, args, target } } as unknown as Expr['exprKind']);
}

/**
 * cel-go's optMap and optFlatMap macros: `o.optMap(v, e)` is `o.hasValue() ? optional.of(e with v = o.value()) :
 * optional.none()`, the binding made as cel.bind makes it, a comprehension over nothing whose accumulator is v.
 */
function optionalMacro(expr: Expr, state: { nextId: bigint }): Expr | undefined {
  if (expr.exprKind.case !== 'callExpr') return undefined;
  const c = expr.exprKind.value;
  if ((c.function !== 'optMap' && c.function !== 'optFlatMap') || !c.target || c.args.length !== 2) return undefined;
  const [variable, body] = c.args as [Expr, Expr];
  if (variable.exprKind.case !== 'identExpr') return undefined;
  const name = variable.exprKind.value.name;
  const bind = node(state, {
    case: 'comprehensionExpr',
    value: {
      iterVar: '#unused',
      iterVar2: '',
      iterRange: list(state, []),
      accuVar: name,
      accuInit: method(state, c.target, 'value', []),
      loopCondition: node(state, { case: 'constExpr', value: { constantKind: { case: 'boolValue', value: false } } } as unknown as Expr['exprKind']),
      loopStep: ident(state, name),
      result: body,
    },
  } as unknown as Expr['exprKind']);
  const some = c.function === 'optMap' ? method(state, ident(state, 'optional'), 'of', [bind]) : bind;
  const none = method(state, ident(state, 'optional'), 'none', []);
  return call(state, '_?_:_', [method(state, c.target, 'hasValue', []), some, none]);
}

function isOptionalChain(expr: Expr): boolean {
  return expr.exprKind.case === 'callExpr' && (expr.exprKind.value.function === optSelect || expr.exprKind.value.function === optIndex);
}

function markedCall(expr: Expr, mark: string): Expr | undefined {
  if (expr.exprKind.case !== 'callExpr') return undefined;
  const c = expr.exprKind.value;
  return c.function === mark && c.target === undefined && c.args.length === 1 ? c.args[0] : undefined;
}

/** Turns the rewritten markers into optional calls; once a chain is optional its later selections are too (cel-go). */
function fixUp(expr: Expr, state: { nextId: bigint }): Expr {
  const kind = expr.exprKind;
  switch (kind.case) {
    case 'selectExpr': {
      const operand = kind.value.operand ? fixUp(kind.value.operand, state) : undefined;
      kind.value.operand = operand;
      const field = kind.value.field;
      if (operand === undefined || kind.value.testOnly) return expr;
      if (field.startsWith(selMark)) return call(state, optSelect, [operand, stringConst(state, field.slice(selMark.length))]);
      if (isOptionalChain(operand)) return call(state, optSelect, [operand, stringConst(state, field)]);
      return expr;
    }
    case 'callExpr': {
      const c = kind.value;
      if (c.target) c.target = fixUp(c.target, state);
      c.args = c.args.map((arg) => fixUp(arg, state));
      const macro = optionalMacro(expr, state);
      if (macro !== undefined) return macro;
      if (c.function === '_[_]' && c.args.length === 2) {
        const key = markedCall(c.args[1]!, idxMark);
        if (key !== undefined) return call(state, optIndex, [c.args[0]!, key]);
        if (isOptionalChain(c.args[0]!)) return call(state, optIndex, [c.args[0]!, c.args[1]!]);
      }
      return expr;
    }
    case 'listExpr': {
      const optional: number[] = [];
      kind.value.elements = kind.value.elements.map((element, index) => {
        const fixed = fixUp(element, state);
        const inner = markedCall(fixed, elemMark);
        if (inner === undefined) return fixed;
        optional.push(index);
        return inner;
      });
      if (optional.length === 0) return expr;
      return call(state, optList, [list(state, kind.value.elements), intList(state, optional)]);
    }
    case 'structExpr': {
      const entries = kind.value.entries;
      const optional: number[] = [];
      for (const [index, entry] of entries.entries()) {
        if (entry.value) entry.value = fixUp(entry.value, state);
        if (entry.keyKind.case === 'mapKey') {
          const key = fixUp(entry.keyKind.value, state);
          const inner = markedCall(key, keyMark);
          entry.keyKind.value = inner ?? key;
          if (inner !== undefined) optional.push(index);
        }
      }
      if (optional.length === 0 || kind.value.messageName !== '') return expr;
      const keys = entries.map((entry) => (entry.keyKind.case === 'mapKey' ? entry.keyKind.value : stringConst(state, '')));
      const values = entries.map((entry) => entry.value ?? stringConst(state, ''));
      return call(state, optMap, [list(state, keys), list(state, values), intList(state, optional)]);
    }
    case 'comprehensionExpr': {
      const c = kind.value;
      for (const key of ['iterRange', 'accuInit', 'loopStep', 'result'] as const) {
        const child = c[key];
        if (child) c[key] = fixUp(child, state);
      }
      if (c.loopCondition) {
        const condition = fixUp(c.loopCondition, state);
        // cel-go charges every variable read and field selection; @bufbuild/cel gives no hook for those, so each
        // iteration is charged what its condition and step read, counted once here.
        const units = 1 + countAccesses(condition) + (c.loopStep ? countAccesses(c.loopStep) : 0);
        c.loopCondition = call(state, chargeIteration, [condition, intConst(state, units)]);
      }
      return expr;
    }
    default:
      return expr;
  }
}

/** Every name a call may resolve to and every free identifier, for compile-time checks. */
export function references(expr: Expr): {
  calls: Array<{ id: bigint; names: string[] }>;
  /** qualifies: the qualified function name the identifier is the namespace of, if it is one (`optional` of optional.of). */
  idents: Array<{ id: bigint; name: string; qualifies?: string }>;
} {
  const calls: Array<{ id: bigint; names: string[] }> = [];
  const idents: Array<{ id: bigint; name: string; qualifies?: string }> = [];
  const walk = (e: Expr, bound: ReadonlySet<string>): void => {
    const kind = e.exprKind;
    if (kind.case === 'identExpr') {
      if (!bound.has(kind.value.name)) idents.push({ id: e.id, name: kind.value.name });
      return;
    }
    if (kind.case === 'callExpr') {
      const target = kind.value.target;
      const names = [kind.value.function];
      if (target?.exprKind.case === 'identExpr' && !bound.has(target.exprKind.value.name)) {
        const qualified = `${target.exprKind.value.name}.${kind.value.function}`;
        calls.push({ id: e.id, names: [qualified, ...names] });
        idents.push({ id: target.id, name: target.exprKind.value.name, qualifies: qualified });
        for (const arg of kind.value.args) walk(arg, bound);
        return;
      }
      calls.push({ id: e.id, names });
    }
    if (kind.case === 'comprehensionExpr') {
      const c = kind.value;
      if (c.iterRange) walk(c.iterRange, bound);
      if (c.accuInit) walk(c.accuInit, bound);
      const inner = new Set(bound);
      inner.add(c.iterVar);
      if (c.iterVar2) inner.add(c.iterVar2);
      inner.add(c.accuVar);
      for (const child of [c.loopCondition, c.loopStep, c.result]) if (child) walk(child, inner);
      return;
    }
    for (const child of children(e)) walk(child, bound);
  };
  walk(expr, new Set());
  return { calls, idents };
}

/** The constant patterns of find and findAll calls. */
export function regexLiterals(expr: Expr): string[] {
  const patterns: string[] = [];
  const walk = (e: Expr): void => {
    const kind = e.exprKind;
    if (kind.case === 'callExpr' && (kind.value.function === 'find' || kind.value.function === 'findAll') && kind.value.target) {
      const pattern = kind.value.args[0]?.exprKind;
      if (pattern?.case === 'constExpr' && pattern.value.constantKind.case === 'stringValue') patterns.push(pattern.value.constantKind.value);
    }
    for (const child of children(e)) walk(child);
  };
  walk(expr);
  return patterns;
}

