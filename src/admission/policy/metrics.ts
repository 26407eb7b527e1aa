// ValidatingAdmissionPolicy's metrics under k8s.io/apiserver's names and labels (policy/validating/metrics): a
// check counted per policy, binding, error type and action taken, with its expression's evaluation time.
import { Counter, Histogram, type Registry } from 'prom-client';

/** kube's error_type label: compile_error, out_of_budget, or invalid_error for any other refusal, plain ones included. */
export type CheckErrorType = 'compile_error' | 'invalid_error' | 'out_of_budget' | 'no_error';
/** kube's enforcement_action label. */
export type EnforcementAction = 'allow' | 'deny' | 'warn' | 'audit';

type Labels = 'policy' | 'policy_binding' | 'error_type' | 'enforcement_action';

export class PolicyMetrics {
  private readonly checks: Counter<Labels>;
  private readonly latency: Histogram<Labels>;

  constructor(registry: Registry) {
    const labelNames: Labels[] = ['policy', 'policy_binding', 'error_type', 'enforcement_action'];
    this.checks = new Counter({
      name: 'apiserver_validating_admission_policy_check_total',
      help: 'ValidatingAdmissionPolicy checks by policy, binding, error type and the action taken.',
      labelNames,
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'apiserver_validating_admission_policy_check_duration_seconds',
      help: 'Time to evaluate a ValidatingAdmissionPolicy expression, by policy, binding, error type and the action taken.',
      labelNames,
      buckets: [0.0000005, 0.001, 0.01, 0.1, 1.0],
      registers: [registry],
    });
  }

  observe(policy: string, binding: string, errorType: CheckErrorType, action: EnforcementAction, seconds: number): void {
    const labels = { policy, policy_binding: binding, error_type: errorType, enforcement_action: action };
    this.checks.inc(labels);
    this.latency.observe(labels, seconds);
  }
}
