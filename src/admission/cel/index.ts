// CEL for admission (ValidatingAdmissionPolicy expressions, webhook matchConditions) on @bufbuild/cel, with the parts of
// kube's CEL environment (k8s.io/apiserver/pkg/cel/environment) that policies use: optional types, kube's extension
// libraries, and a runtime cost budget. Variables are dynamic; values are the JSON a kube object decodes to.
import { celEnv, celFunc, CelScalar, isCelError, listType, plan, type CelEnv, type CelFunc, type CelValue } from '@bufbuild/cel';
import { callCost, charge, CostTracker, costLimitMessage, perCallLimit, withTracker } from './cost.js';
import { bindOperators } from './library/compare.js';
import { equalityLibrary } from './library/equality.js';
import { formatLibrary } from './library/format.js';
import { ipLibrary } from './library/ip.js';
import { listsLibrary } from './library/lists.js';
import { optionalLibrary } from './library/optional.js';
import { quantityLibrary } from './library/quantity.js';
import { compileRegex, regexError, regexLibrary } from './library/regex.js';
import { setsLibrary } from './library/sets.js';
import { stringsLibrary } from './library/strings.js';
import { urlLibrary } from './library/url.js';
import { AppendList } from './lists-concat.js';
import { checkLiterals } from './literals.js';
import { errorAt, parseCel, references, regexLiterals, type Expr } from './syntax.js';
import { celToJs, jsonToCel, nativeValue } from './values.js';

export { LazyMap } from './values.js';
export { perCallLimit, costLimitMessage } from './cost.js';

export type CompileResult = { ok: true; program: CelProgram } | { ok: false; message: string };
export type EvalResult = { ok: true; value: unknown; cost?: number } | { ok: false; message: string; cost?: number };

export interface CelProgram {
  /** Evaluates; costBudget defaults to kube's per-call limit. The result's cost is what the evaluation was charged. */
  evaluate(activation: Record<string, unknown>, options?: { costBudget?: number }): EvalResult;
}

const LIST = listType(CelScalar.DYN);

const libraries: CelFunc[] = [
  celFunc('_+_', [LIST, LIST], LIST, (left, right) => AppendList.concat(left, right) as unknown as CelValue[]),
  ...equalityLibrary,
  ...optionalLibrary,
  ...stringsLibrary,
  ...listsLibrary,
  ...regexLibrary,
  ...urlLibrary,
  ...quantityLibrary,
  ...formatLibrary,
  ...setsLibrary,
  ...ipLibrary,
];

// matches() on the same RE2 engine as find and findAll, with their cache of compiled patterns.
const baseEnv = celEnv({ funcs: libraries, re2: { compile: (pattern) => ({ test: (text) => compileRegex(pattern).matcher(text).find() }) } });
bindOperators((name) => (baseEnv.funcs as unknown as { find(name: string): Group | undefined }).find(name) as never);

const resolverBrand = Symbol.for('@bufbuild/cel/resolver');
const envBrand = Symbol.for('@bufbuild/cel/env');

type Group = { name: string; call(id: number, target: CelValue | undefined, args: CelValue[]): unknown; [Symbol.iterator](): Iterator<unknown> };

// Every call goes through the budget: the resolver @bufbuild/cel plans with hands out overload groups wrapped to
// charge before they run.
const wrappedGroups = new Map<string, Group>();
const costedFuncs = {
  [resolverBrand]: {},
  find(name: string): Group | undefined {
    let wrapped = wrappedGroups.get(name);
    if (wrapped === undefined) {
      const group = (baseEnv.funcs as unknown as { find(name: string): Group | undefined }).find(name);
      if (group === undefined) return undefined;
      wrapped = {
        name: group.name,
        call: (id, target, args) => {
          charge(callCost(name, target, args));
          return group.call(id, target, args);
        },
        [Symbol.iterator]: () => group[Symbol.iterator](),
      };
      wrappedGroups.set(name, wrapped);
    }
    return wrapped;
  },
  [Symbol.iterator]: () => (baseEnv.funcs as unknown as Iterable<unknown>)[Symbol.iterator](),
};

const env = {
  [envBrand]: {},
  namespace: baseEnv.namespace,
  registry: baseEnv.registry,
  funcs: costedFuncs,
  variables: baseEnv.variables,
} as unknown as CelEnv;

// Type names are identifiers CEL resolves without a declaration (`type(x) == int`).
const typeNames = new Set(['int', 'uint', 'double', 'bool', 'string', 'bytes', 'list', 'map', 'null_type', 'type', 'dyn']);

// Calls the planner handles itself rather than through the resolver.
const builtinCalls = new Set(['_&&_', '_||_', '_?_:_', '_[_]', '@not_strictly_false']);

export function compileCel(expression: string, options: { variables: readonly string[] }): CompileResult {
  const parsed = parseCel(expression);
  if (!parsed.ok) return parsed;
  const declared = new Set(options.variables);
  const undeclared = firstUndeclared(parsed.expr, declared);
  if (undeclared !== undefined) {
    let offset = parsed.offsetOf(undeclared.id);
    // cel-go places a call's error at its opening parenthesis.
    if (undeclared.call) offset = Math.max(offset, expression.indexOf('(', offset));
    return { ok: false, message: errorAt(expression, offset, `undeclared reference to '${undeclared.name}' (in container '')`) };
  }
  const literal = checkLiterals(parsed.expr, declared, regexError);
  if (literal !== undefined) {
    let offset = parsed.offsetOf(literal.id);
    if (literal.call) offset = Math.max(offset, expression.indexOf('(', offset));
    return { ok: false, message: errorAt(expression, offset, literal.message) };
  }
  const badRegex = invalidRegexLiteral(parsed.expr);
  if (badRegex !== undefined) return { ok: false, message: badRegex };
  let run: (bindings: Record<string, CelValue>) => unknown;
  try {
    run = plan(env, parsed.expr) as unknown as (bindings: Record<string, CelValue>) => unknown;
  } catch (error) {
    return { ok: false, message: errorAt(expression, 0, (error as Error).message) };
  }
  const names = [...declared];
  const staticCost = parsed.staticCost;
  return {
    ok: true,
    program: {
      evaluate(activation, evalOptions) {
        const tracker = new CostTracker(evalOptions?.costBudget ?? perCallLimit);
        const bindings: Record<string, CelValue> = {};
        for (const name of names) bindings[name] = jsonToCel(Object.hasOwn(activation, name) ? activation[name] : null);
        let result: unknown;
        try {
          result = withTracker(tracker, () => {
            // Charged up front, as a whole: a short-circuited branch is paid for too (a bound, not kube's exact figure).
            tracker.charge(staticCost);
            return run(bindings);
          });
        } catch (error) {
          result = error;
        }
        // A lazily computed variable is paid for by the expression that reads it (this evaluation's caller, if any).
        charge(tracker.used);
        if (tracker.exceeded) return { ok: false, message: costLimitMessage, cost: tracker.used };
        if (isCelError(result) || result instanceof Error) return { ok: false, message: celGoMessage((result as Error).message), cost: tracker.used };
        // Converted when read: a variable holding a tenant's 3 MiB object is read by other expressions through its
        // native value, and copying it into JS at each evaluation would cost what the budget never charges.
        let value: unknown;
        let converted = false;
        const out = { ok: true, cost: tracker.used } as EvalResult;
        Object.defineProperty(out, 'value', {
          enumerable: true,
          get: () => {
            if (!converted) {
              value = celToJs(result as CelValue);
              converted = true;
            }
            return value;
          },
        });
        Object.defineProperty(out, nativeValue, { value: result, enumerable: false });
        return out;
      },
    },
  };
}

function firstUndeclared(expr: Expr, declared: ReadonlySet<string>): { id: bigint; name: string; call?: boolean } | undefined {
  const { calls, idents } = references(expr);
  const finder = costedFuncs;
  for (const ident of idents) {
    if (ident.qualifies !== undefined && finder.find(ident.qualifies) !== undefined) continue;
    if (!declared.has(ident.name) && !typeNames.has(ident.name)) return ident;
  }
  for (const c of calls) {
    if (c.names.some((name) => builtinCalls.has(name) || finder.find(name) !== undefined)) continue;
    return { id: c.id, name: c.names[c.names.length - 1]!, call: true };
  }
  return undefined;
}

/**
 * kube compiles a constant pattern of find and findAll when it builds the program (cel.OptimizeRegex) and refuses the
 * expression if it does not compile.
 */
function invalidRegexLiteral(expr: Expr): string | undefined {
  for (const pattern of regexLiterals(expr)) {
    const error = regexError(pattern);
    if (error !== undefined) return `program instantiation failed: ${error}`;
  }
  return undefined;
}

// @bufbuild/cel's runtime errors in the words cel-go uses for them, which kube puts in its messages.
const celGoWording: Array<[RegExp, (match: RegExpExecArray) => string]> = [
  [/^field not found: (.*)$/s, (m) => `no such key: ${m[1]}`],
  [/^int divide by zero$/, () => 'division by zero'],
  [/^(int|uint) (modulus|modulo) by zero$/, () => 'modulus by zero'],
  [/^found no matching overload for .*$/s, () => 'no such overload'],
  [/^int overflow during .*$/, () => 'integer overflow'],
  [/^Cannot convert .* to a BigInt$/s, () => "type conversion error from 'string' to 'int'"],
  // A list index reports the size as -1; the strings extension reports the string's length.
  [/^index (-?\d+) out of bounds \[0, -1\)$/, (m) => `index out of bounds: ${m[1]}`],
  [/^index (-?\d+) out of bounds \[0, \d+\)$/, (m) => `index out of range: ${m[1]}`],
];

function celGoMessage(message: string): string {
  for (const [pattern, word] of celGoWording) {
    const match = pattern.exec(message);
    if (match !== null) return word(match);
  }
  return message;
}
