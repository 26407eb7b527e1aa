// Admission metrics under k8s.io/apiserver's names, labels and buckets (pkg/admission/metrics): per step (admit or
// validate), per plugin, per webhook call. They live on the server's prom-client registry, handed in by main.
import { Counter, Histogram, type Registry } from 'prom-client';

const buckets = [0.005, 0.025, 0.1, 0.5, 1.0, 2.5];

export type StepType = 'admit' | 'validate';

/** Why a webhook refused: kube's error_type label. */
export type WebhookRejectionErrorType = 'calling_webhook_error' | 'apiserver_internal_error' | 'no_error';

export class AdmissionMetrics {
  readonly step: Histogram<'type' | 'operation' | 'rejected'>;
  readonly controller: Histogram<'name' | 'type' | 'operation' | 'rejected'>;
  readonly webhook: Histogram<'name' | 'type' | 'operation' | 'rejected'>;
  readonly webhookRejection: Counter<'name' | 'type' | 'operation' | 'error_type' | 'rejection_code'>;
  readonly webhookRequest: Counter<'name' | 'type' | 'operation' | 'code' | 'rejected'>;
  readonly webhookFailOpen: Counter<'name' | 'type'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.step = new Histogram({
      name: 'apiserver_admission_step_admission_duration_seconds',
      help: 'Admission sub-step latency histogram in seconds, broken out for each operation and API resource and step type (validate or admit).',
      labelNames: ['type', 'operation', 'rejected'],
      buckets,
      registers,
    });
    this.controller = new Histogram({
      name: 'apiserver_admission_controller_admission_duration_seconds',
      help: 'Admission controller latency histogram in seconds, identified by name and broken out for each operation and API resource and type (validate or admit).',
      labelNames: ['name', 'type', 'operation', 'rejected'],
      buckets,
      registers,
    });
    this.webhook = new Histogram({
      name: 'apiserver_admission_webhook_admission_duration_seconds',
      help: 'Admission webhook latency histogram in seconds, identified by name and broken out for each operation and API resource and type (validate or admit).',
      labelNames: ['name', 'type', 'operation', 'rejected'],
      buckets: [...buckets, 10, 25],
      registers,
    });
    this.webhookRejection = new Counter({
      name: 'apiserver_admission_webhook_rejection_count',
      help: 'Admission webhook rejection count, identified by name and broken out for each admission type (validating or admit) and operation. Additional labels specify an error type (calling_webhook_error or apiserver_internal_error if an error occurred; no_error otherwise) and optionally a non-zero rejection code if the webhook rejects the request with an HTTP status code (honored by the apiserver when the code is greater or equal to 400). Codes greater than 600 are truncated to 600, to keep the metrics cardinality bounded.',
      labelNames: ['name', 'type', 'operation', 'error_type', 'rejection_code'],
      registers,
    });
    this.webhookRequest = new Counter({
      name: 'apiserver_admission_webhook_request_total',
      help: 'Admission webhook request total, identified by name and broken out for each admission type (validating or admit) and operation. Additional labels specify whether the request was rejected or not and an HTTP status code. Codes greater than 600 are truncated to 600, to keep the metrics cardinality bounded.',
      labelNames: ['name', 'type', 'operation', 'code', 'rejected'],
      registers,
    });
    this.webhookFailOpen = new Counter({
      name: 'apiserver_admission_webhook_fail_open_count',
      help: 'Admission webhook fail open count, identified by name and broken out for each admission type (validating or admit).',
      labelNames: ['name', 'type'],
      registers,
    });
  }

  /** One webhook call; kube's type label is "admit" for mutating webhooks and "validating" for validating ones. */
  observeWebhook(name: string, type: 'admit' | 'validating', operation: string, seconds: number, rejected: boolean, code: number): void {
    this.webhookRequest.inc({ name, type, operation, code: String(Math.min(code, 600)), rejected: String(rejected) });
    this.webhook.observe({ name, type, operation, rejected: String(rejected) }, seconds);
  }

  observeWebhookRejection(name: string, type: 'admit' | 'validating', operation: string, errorType: WebhookRejectionErrorType, code: number): void {
    this.webhookRejection.inc({ name, type, operation, error_type: errorType, rejection_code: String(Math.min(code, 600)) });
  }
}
