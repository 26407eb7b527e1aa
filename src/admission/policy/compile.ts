// A policy's CEL expressions compiled once per generation of the policy (kube's compilePolicy): variables,
// matchConditions, validations with their messageExpressions, auditAnnotations. A compile error is kept with its
// expression and reported when the expression would run, worded as kube-apiserver words it.
import { compileCel, type CelProgram } from '../cel/index.js';
import type { AuditAnnotation, MatchCondition, ValidatingAdmissionPolicy, Validation } from './types.js';

export type Compiled = { expression: string; program: CelProgram; error?: undefined } | { expression: string; program?: undefined; error: string };

export interface CompiledPolicy {
  variables: { name: string; compiled: Compiled }[];
  matchConditions: { condition: MatchCondition; compiled: Compiled }[];
  validations: { validation: Validation; compiled: Compiled; message?: Compiled }[];
  auditAnnotations: { annotation: AuditAnnotation; compiled: Compiled }[];
}

function compile(expression: string, declared: readonly string[]): Compiled {
  const result = compileCel(expression, { variables: declared });
  // kube's CompilationResult error: the checker's issues after "compilation failed: ".
  return result.ok ? { expression, program: result.program } : { expression, error: `compilation failed: ${result.message}` };
}

export function compilePolicy(policy: ValidatingAdmissionPolicy): CompiledPolicy {
  const spec = policy.spec ?? {};
  // kube's admission CEL environment: `params` is declared only for a policy with a paramKind.
  const declared = ['object', 'oldObject', 'request', 'namespaceObject', 'variables', ...(spec.paramKind ? ['params'] : [])];
  return {
    variables: (spec.variables ?? []).map((v) => ({ name: v.name, compiled: compile(v.expression, declared) })),
    matchConditions: (spec.matchConditions ?? []).map((condition) => ({ condition, compiled: compile(condition.expression, declared) })),
    validations: (spec.validations ?? []).map((validation) => ({
      validation,
      compiled: compile(validation.expression, declared),
      ...(validation.messageExpression ? { message: compile(validation.messageExpression, declared) } : {}),
    })),
    auditAnnotations: (spec.auditAnnotations ?? []).map((annotation) => ({ annotation, compiled: compile(annotation.valueExpression, declared) })),
  };
}
