// One evaluation of a policy for one binding and one param (kube's validator.Validate): matchConditions, then every
// validation with its message, then auditAnnotations, under the policy's failurePolicy. Messages are kube's.
import { LazyMap } from '../cel/index.js';
import type { Compiled, CompiledPolicy } from './compile.js';

/** k8s.io/apiserver/pkg/apis/cel's RuntimeCELCostBudget: what one evaluation's validations may cost together. */
const runtimeCostBudget = 10_000_000;
const outOfBudget = 'validation failed due to running out of cost budget, no further validation rules will be run';
/** celconfig.MaxEvaluatedMessageExpressionSizeBytes: a longer messageExpression result is not used. */
const maxMessageBytes = 5 * 1024;

export type FailurePolicy = 'Fail' | 'Ignore';

export interface Decision {
  action: 'admit' | 'deny';
  evaluation: 'admit' | 'deny' | 'error';
  message: string;
  /** The validation's reason for a refusal (Invalid unless set). */
  reason?: string;
  seconds: number;
}

export type AuditAnnotationResult =
  | { action: 'publish'; key: string; value: string; seconds: number }
  | { action: 'error'; message: string; seconds: number }
  | { action: 'exclude' };

export interface ValidateResult {
  decisions: Decision[];
  auditAnnotations: AuditAnnotationResult[];
}

/** The activation's values but `variables`, JSON-like as kube's unstructured objects. */
export interface Inputs {
  object: unknown;
  oldObject: unknown;
  request: unknown;
  params: unknown;
  namespaceObject: unknown;
}

type Outcome = { ok: true; value: unknown; seconds: number; cost: number } | { ok: false; message: string; seconds: number; cost: number };

function run(compiled: Compiled, activation: Record<string, unknown>): Outcome {
  if (compiled.error !== undefined) return { ok: false, message: `compilation error: ${compiled.error}`, seconds: 0, cost: 0 };
  const start = performance.now();
  // Each call under kube's per-call limit, the engine's default.
  const result = compiled.program.evaluate(activation);
  const seconds = (performance.now() - start) / 1000;
  const cost = result.cost ?? 0;
  return result.ok
    ? { ok: true, value: result.value, seconds, cost }
    : { ok: false, message: `expression '${compiled.expression}' resulted in error: ${result.message}`, seconds, cost };
}

/** `variables`, each computed on first use and once per evaluation; a failure is the error of what uses it. */
function variablesOf(policy: CompiledPolicy, activation: Record<string, unknown>): LazyMap {
  const byName = new Map(policy.variables.map((v) => [v.name, v.compiled]));
  return new LazyMap([...byName.keys()], (name) => {
    const compiled = byName.get(name)!;
    if (compiled.error !== undefined) return { ok: false, message: `composited variable "${name}" fails to compile: ${compiled.error}` };
    // The evaluation is handed back whole: the engine keeps its native value for the expressions that read it.
    const result = compiled.program.evaluate(activation);
    return result.ok ? result : { ok: false, message: `composited variable "${name}" fails to evaluate: ${result.message}` };
  });
}

const celTypeName = (value: unknown): string => {
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'double';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Uint8Array) return 'bytes';
  return 'map';
};

/** utilerrors.NewAggregate's message: one error as is, several in brackets. */
const aggregate = (messages: string[]): string => (messages.length === 1 ? messages[0]! : `[${messages.join(', ')}]`);

export function validate(policy: CompiledPolicy, failurePolicy: FailurePolicy, inputs: Inputs): ValidateResult {
  const onError: Decision['action'] = failurePolicy === 'Ignore' ? 'admit' : 'deny';
  const activation: Record<string, unknown> = { ...inputs };
  activation.variables = variablesOf(policy, activation);

  if (policy.matchConditions.length > 0) {
    const errors: string[] = [];
    for (const { compiled } of policy.matchConditions) {
      const outcome = run(compiled, activation);
      if (!outcome.ok) errors.push(outcome.message);
      // Any condition false skips the policy, errors or not.
      else if (outcome.value === false) return { decisions: [], auditAnnotations: [] };
    }
    if (errors.length > 0) {
      if (failurePolicy === 'Ignore') return { decisions: [], auditAnnotations: [] };
      return { decisions: [{ action: 'deny', evaluation: 'error', message: aggregate(errors), seconds: 0 }], auditAnnotations: [] };
    }
  }

  let budget = runtimeCostBudget;
  let exhausted = false;
  const decisions = policy.validations.map(({ validation, compiled, message }): Decision => {
    const outcome = run(compiled, activation);
    budget -= outcome.cost;
    if (budget < 0) exhausted = true;
    if (!outcome.ok) return { action: onError, evaluation: 'error', message: outcome.message, seconds: outcome.seconds };
    if (outcome.value === true) return { action: 'admit', evaluation: 'admit', message: '', seconds: outcome.seconds };
    let text = '';
    if (message) {
      const evaluated = run(message, activation);
      budget -= evaluated.cost;
      if (budget < 0) exhausted = true;
      if (evaluated.ok && typeof evaluated.value === 'string') {
        text = evaluated.value.trim();
        // kube drops an overlong or multi-line message and falls back to the static one.
        if (Buffer.byteLength(text) > maxMessageBytes || text.includes('\n')) text = '';
      }
    }
    if (text === '' && validation.message) text = validation.message.trim();
    if (text === '') text = `failed expression: ${validation.expression.trim()}`;
    return { action: 'deny', evaluation: 'deny', message: text, reason: validation.reason || 'Invalid', seconds: outcome.seconds };
  });

  // Past the budget kube reports one error for the whole evaluation instead of its decisions.
  if (exhausted) return { decisions: [{ action: onError, evaluation: 'error', message: outOfBudget, seconds: 0 }], auditAnnotations: [] };

  const auditAnnotations = policy.auditAnnotations.map(({ annotation, compiled }): AuditAnnotationResult => {
    const outcome = run(compiled, activation);
    if (!outcome.ok) return failurePolicy === 'Ignore' ? { action: 'exclude' } : { action: 'error', message: outcome.message, seconds: outcome.seconds };
    if (outcome.value === null || outcome.value === undefined) return { action: 'exclude' };
    if (typeof outcome.value === 'string') {
      const value = outcome.value.trim();
      return value === '' ? { action: 'exclude' } : { action: 'publish', key: annotation.key, value, seconds: outcome.seconds };
    }
    return {
      action: 'error',
      message: `valueExpression '${annotation.valueExpression}' resulted in unsupported return type: ${celTypeName(outcome.value)}. Return type must be either string or null.`,
      seconds: outcome.seconds,
    };
  });
  return { decisions, auditAnnotations };
}
