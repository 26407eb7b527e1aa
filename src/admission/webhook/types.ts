// admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration and MutatingWebhookConfiguration as kube-apiserver
// serves them, and one webhook of either as the plugins use it, with the defaults kube-apiserver's v1 defaulting gives.
export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface RuleWithOperations {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: string;
}

export interface WebhookClientConfig {
  url?: string;
  service?: { namespace: string; name: string; path?: string; port?: number };
  caBundle?: string;
}

export interface MatchCondition {
  name: string;
  expression: string;
}

export interface WebhookSpec {
  name: string;
  clientConfig: WebhookClientConfig;
  rules?: RuleWithOperations[];
  failurePolicy?: 'Fail' | 'Ignore';
  matchPolicy?: 'Exact' | 'Equivalent';
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  sideEffects?: string;
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
  reinvocationPolicy?: 'Never' | 'IfNeeded';
  matchConditions?: MatchCondition[];
}

export interface WebhookConfiguration {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string };
  webhooks?: WebhookSpec[];
}

/** One webhook of a configuration, as the dispatchers call it. */
export interface Webhook {
  /** kube's webhook accessor uid: "<configuration>/<webhook>/<index>", which reinvocation keys on. */
  uid: string;
  configuration: string;
  spec: WebhookSpec;
  failurePolicy: 'Fail' | 'Ignore';
  timeoutSeconds: number;
}

/** The webhooks of every configuration, configurations by name as kube's configuration manager sorts them. */
export function webhooksOf(configurations: readonly WebhookConfiguration[]): Webhook[] {
  const sorted = [...configurations].sort((a, b) => compareStrings(a.metadata?.name ?? '', b.metadata?.name ?? ''));
  const out: Webhook[] = [];
  for (const configuration of sorted) {
    const name = configuration.metadata?.name ?? '';
    (configuration.webhooks ?? []).forEach((spec, index) => {
      out.push({
        uid: `${name}/${spec.name}/${index}`,
        configuration: name,
        spec,
        failurePolicy: spec.failurePolicy ?? 'Fail',
        timeoutSeconds: spec.timeoutSeconds ?? 10,
      });
    });
  }
  return out;
}

/** Go's string order: by UTF-8 bytes. */
function compareStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
