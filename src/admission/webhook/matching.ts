// Which webhooks a request reaches, as k8s.io/apiserver's webhook predicates (v0.32.2) decide: rules (operations,
// groups, versions, resources with subresources, scope), the namespace selector on the request's namespace's labels
// and the object selector on the new or the old object's labels. This server serves one version of each resource,
// so matchPolicy Equivalent finds no resource beyond the one asked for and both policies match alike.
import type { AdmissionAttributes } from '../../registry/admission.js';
import type { LabelSelector, RuleWithOperations } from './types.js';

const exactOrWildcard = (items: readonly string[] | undefined, requested: string): boolean =>
  (items ?? []).some((item) => item === '*' || item === requested);

const isNamespaceResource = (attributes: AdmissionAttributes): boolean =>
  attributes.resource.group === '' && attributes.resource.version === 'v1' && attributes.resource.resource === 'namespaces';

function scopeMatches(rule: RuleWithOperations, attributes: AdmissionAttributes): boolean {
  switch (rule.scope ?? '*') {
    case '*':
      return true;
    case 'Namespaced':
      return !isNamespaceResource(attributes) && attributes.namespace !== '';
    case 'Cluster':
      return isNamespaceResource(attributes) || attributes.namespace === '';
    default:
      return false;
  }
}

function resourceMatches(rule: RuleWithOperations, attributes: AdmissionAttributes): boolean {
  return (rule.resources ?? []).some((entry) => {
    const slash = entry.indexOf('/');
    const resource = slash < 0 ? entry : entry.slice(0, slash);
    const subresource = slash < 0 ? '' : entry.slice(slash + 1);
    return (resource === '*' || resource === attributes.resource.resource) && (subresource === '*' || subresource === attributes.subResource);
  });
}

/** rules.Matcher.Matches. */
export function ruleMatches(rule: RuleWithOperations, attributes: AdmissionAttributes): boolean {
  return (
    scopeMatches(rule, attributes) &&
    (rule.operations ?? []).some((op) => op === '*' || op === attributes.operation) &&
    exactOrWildcard(rule.apiGroups, attributes.resource.group) &&
    exactOrWildcard(rule.apiVersions, attributes.resource.version) &&
    resourceMatches(rule, attributes)
  );
}

/** metav1.LabelSelectorAsSelector(selector).Matches(labels); an absent selector selects everything. */
export function labelSelectorMatches(selector: LabelSelector | undefined, labels: Record<string, string> | null | undefined): boolean {
  // `labels: null` (an earlier mutating webhook's patch, not yet pruned by the store) is no labels, as kube reads it.
  const has = (key: string): boolean => labels !== undefined && labels !== null && Object.hasOwn(labels, key);
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) {
    if (!has(key) || labels![key] !== value) return false;
  }
  for (const requirement of selector?.matchExpressions ?? []) {
    const value = has(requirement.key) ? labels![requirement.key] : undefined;
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case 'In':
        if (value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (value === undefined) return false;
        break;
      case 'DoesNotExist':
        if (value !== undefined) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

export function selectsEverything(selector: LabelSelector | undefined): boolean {
  return Object.keys(selector?.matchLabels ?? {}).length === 0 && (selector?.matchExpressions ?? []).length === 0;
}

/** object.Matcher: the selector matches the object's labels or the old object's. */
export function objectSelectorMatches(selector: LabelSelector | undefined, attributes: AdmissionAttributes): boolean {
  if (selectsEverything(selector)) return true;
  return (
    (attributes.object !== null && labelSelectorMatches(selector, attributes.object.metadata?.labels)) ||
    (attributes.oldObject !== null && labelSelectorMatches(selector, attributes.oldObject.metadata?.labels))
  );
}

/** Whether a namespace selector has a namespace to look at: a cluster-scoped request other than a namespace's has none. */
export function namespaceSelectorApplies(selector: LabelSelector | undefined, attributes: AdmissionAttributes): boolean {
  if (attributes.namespace === '' && attributes.resource.resource !== 'namespaces') return false;
  return !selectsEverything(selector);
}
