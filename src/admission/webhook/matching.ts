// Which webhooks a request reaches, as k8s.io/apiserver's webhook predicates (v0.32.2) decide beyond their rules: the
// namespace selector on the request's namespace's labels and the object selector on the new or the old object's labels.
import type { AdmissionAttributes } from '../../registry/admission.js';
import { labelSelectorMatches, selectsEverything, type LabelSelector } from '../rules.js';

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
