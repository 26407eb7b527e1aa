// Which requests a policy's matchConstraints and a binding's matchResources select, as k8s.io/apiserver's
// policy/matching and webhook/predicates (v0.32.2) decide: namespace selector, object selector (the new or the old
// object), excludeResourceRules, then resourceRules (rules.ts) and their resourceNames.
import type { AdmissionAttributes } from '../../registry/admission.js';
import { labelSelectorMatches, ruleMatches, selectsEverything } from '../rules.js';
import type { MatchResources, NamedRuleWithOperations } from './types.js';

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
