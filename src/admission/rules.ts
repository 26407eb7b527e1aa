// What webhooks and ValidatingAdmissionPolicies both match requests by, as k8s.io/apiserver (v0.32.2) matches them:
// a rule (rules.Matcher: scope, operations, groups, versions, resources with subresources) and a label selector
// (metav1.LabelSelectorAsSelector). This server serves one version of each resource, so matchPolicy Equivalent finds
// no resource beyond the one asked for and both policies match alike.
import type { AdmissionAttributes } from '../registry/admission.js';

export interface Rule {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: string;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

const exactOrWildcard = (items: readonly string[] | undefined, requested: string): boolean =>
  (items ?? []).some((item) => item === '*' || item === requested);

function scopeMatches(rule: Rule, attributes: AdmissionAttributes): boolean {
  const isNamespace = attributes.resource.group === '' && attributes.resource.version === 'v1' && attributes.resource.resource === 'namespaces';
  switch (rule.scope ?? '*') {
    case '*':
      return true;
    case 'Namespaced':
      return !isNamespace && attributes.namespace !== '';
    case 'Cluster':
      return isNamespace || attributes.namespace === '';
    default:
      return false;
  }
}

function resourceMatches(rule: Rule, attributes: AdmissionAttributes): boolean {
  return (rule.resources ?? []).some((entry) => {
    const slash = entry.indexOf('/');
    const resource = slash < 0 ? entry : entry.slice(0, slash);
    const subresource = slash < 0 ? '' : entry.slice(slash + 1);
    return (resource === '*' || resource === attributes.resource.resource) && (subresource === '*' || subresource === attributes.subResource);
  });
}

/** rules.Matcher.Matches. */
export function ruleMatches(rule: Rule, attributes: AdmissionAttributes): boolean {
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
    const present = has(requirement.key);
    const value = present ? labels![requirement.key]! : undefined;
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case 'In':
        if (value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
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
