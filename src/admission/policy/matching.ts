// Which requests a policy's matchConstraints and a binding's matchResources select, as k8s.io/apiserver's
// policy/matching and webhook/predicates (v0.32.2) decide: namespace selector, object selector (the new or the old
// object), excludeResourceRules, then resourceRules with operations, groups, versions, resources incl. subresources,
// scope and resourceNames. This server serves one version of each resource, so matchPolicy Equivalent finds no
// equivalent beyond the resource itself.
import type { AdmissionAttributes } from '../../registry/admission.js';
import type { LabelSelector, MatchResources, NamedRuleWithOperations } from './types.js';

/** metav1.LabelSelectorAsSelector's meaning; an absent selector is the {} kube-apiserver defaults it to: everything. */
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

const exactOrWildcard = (items: readonly string[] | undefined, requested: string): boolean =>
  (items ?? []).some((item) => item === '*' || item === requested);

function scopeMatches(rule: NamedRuleWithOperations, attributes: AdmissionAttributes): boolean {
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

function resourceMatches(rule: NamedRuleWithOperations, attributes: AdmissionAttributes): boolean {
  return (rule.resources ?? []).some((entry) => {
    const slash = entry.indexOf('/');
    const resource = slash < 0 ? entry : entry.slice(0, slash);
    const subresource = slash < 0 ? '' : entry.slice(slash + 1);
    return (resource === '*' || resource === attributes.resource.resource) && (subresource === '*' || subresource === attributes.subResource);
  });
}

/** rules.Matcher: scope, operation, group, version, resource. */
export function ruleMatches(rule: NamedRuleWithOperations, attributes: AdmissionAttributes): boolean {
  return (
    scopeMatches(rule, attributes) &&
    (rule.operations ?? []).some((op) => op === '*' || op === attributes.operation) &&
    exactOrWildcard(rule.apiGroups, attributes.resource.group) &&
    exactOrWildcard(rule.apiVersions, attributes.resource.version) &&
    resourceMatches(rule, attributes)
  );
}

/** A rule matches and its resourceNames, when any, name the request's object. */
export function resourceRulesMatch(rules: readonly NamedRuleWithOperations[] | undefined, attributes: AdmissionAttributes): boolean {
  return (rules ?? []).some(
    (rule) => ruleMatches(rule, attributes) && ((rule.resourceNames ?? []).length === 0 || rule.resourceNames!.includes(attributes.name)),
  );
}

/**
 * Labels of the request's namespace for the namespace selector; undefined for a request with none. Raises what kube
 * raises for a namespace that does not exist (404).
 */
export type NamespaceLabels = () => Promise<Record<string, string> | undefined>;

/** matching.Matcher.Matches over one MatchResources. */
export async function matchResources(criteria: MatchResources, attributes: AdmissionAttributes, namespaceLabels: NamespaceLabels): Promise<boolean> {
  // A cluster-scoped resource other than a namespace is never exempted by a namespace selector.
  const namespaced = attributes.namespace !== '' || attributes.resource.resource === 'namespaces';
  let namespaceError: unknown;
  if (namespaced && !selectsEverything(criteria.namespaceSelector)) {
    try {
      if (!labelSelectorMatches(criteria.namespaceSelector, await namespaceLabels())) return false;
    } catch (error) {
      namespaceError = error;
    }
  }
  if (!selectsEverything(criteria.objectSelector)) {
    const labelsOf = (object: AdmissionAttributes['object']): Record<string, string> | undefined => object?.metadata?.labels;
    const selected =
      (attributes.object !== null && labelSelectorMatches(criteria.objectSelector, labelsOf(attributes.object))) ||
      (attributes.oldObject !== null && labelSelectorMatches(criteria.objectSelector, labelsOf(attributes.oldObject)));
    if (!selected) return false;
  }
  if (resourceRulesMatch(criteria.excludeResourceRules, attributes)) return false;
  if ((criteria.resourceRules ?? []).length > 0 && !resourceRulesMatch(criteria.resourceRules, attributes)) return false;
  // Only now that the rest selects the request does a failed namespace lookup count.
  if (namespaceError !== undefined) throw namespaceError;
  return true;
}
