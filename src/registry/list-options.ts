// What a LIST or WATCH request's options mean, read as kube-apiserver reads them: the combinations it refuses (its
// ValidateListOptions and the watch rules, worded as it words them), the resourceVersion, and the selectors as one
// filter over objects.
import { fieldErrors, type FieldError } from '../api/meta/field-errors.js';
import { apiErrors, type ApiError } from '../api/meta/errors.js';
import type { KubeObject } from '../api/meta/types.js';
import type { Selectable, WatchFilter } from '../storage/watch-cache.js';
import { parseFieldSelector } from './field-selector.js';
import { parseLabelSelector, SelectorParseError } from './label-selector.js';
import type { Strategy } from './strategy.js';

/** "" → undefined (latest); otherwise a non-negative integer, else 400 as kube-apiserver answers. */
export function parseResourceVersion(rv: string): number | undefined {
  if (rv === '') return undefined;
  if (!/^\d+$/.test(rv)) throw apiErrors.badRequest(`invalid resource version: ${JSON.stringify(rv)}`);
  return Number(rv);
}

export function validateListOptions(rv: string, rvMatch: string, continueToken?: string): void {
  const errors: FieldError[] = [];
  if (rvMatch !== '' && rvMatch !== 'Exact' && rvMatch !== 'NotOlderThan') {
    errors.push(fieldErrors.notSupported('resourceVersionMatch', rvMatch, ['Exact', 'NotOlderThan', '']));
  }
  if (rvMatch !== '' && rv === '') errors.push(fieldErrors.forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided'));
  if (rvMatch !== '' && continueToken) errors.push(fieldErrors.forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'));
  if (rvMatch === 'Exact' && rv === '0') errors.push(fieldErrors.forbidden('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'));
  if (continueToken && rv !== '' && rv !== '0') {
    errors.push(fieldErrors.forbidden('resourceVersion', 'specifying resource version is not allowed when using continue'));
  }
  if (errors.length > 0) throw listOptionsInvalid(errors);
  parseResourceVersion(rv);
}

/** A watch takes resourceVersionMatch only to ask for its initial events (a streaming list). */
export function validateWatchOptions(rvMatch: string, sendInitialEvents: boolean | undefined, allowWatchBookmarks: boolean | undefined): void {
  if (sendInitialEvents !== undefined) {
    const errors: FieldError[] = [];
    if (sendInitialEvents && !allowWatchBookmarks) {
      errors.push(fieldErrors.forbidden('allowWatchBookmarks', 'allowWatchBookmarks required when sendInitialEvents is true'));
    }
    if (rvMatch !== 'NotOlderThan') {
      errors.push(fieldErrors.forbidden('resourceVersionMatch', "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"));
    }
    if (errors.length > 0) throw listOptionsInvalid(errors);
  } else if (rvMatch !== '') {
    throw listOptionsInvalid([fieldErrors.forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden for watch')]);
  }
}

/** The objects a label and a field selector select; undefined when they select everything. A bad selector is 400. */
export function selectorFilter(strategy: Strategy, labelSelector?: string, fieldSelector?: string): WatchFilter | undefined {
  try {
    const labels = parseLabelSelector(labelSelector);
    const fields = parseFieldSelector(fieldSelector, ['metadata.name', 'metadata.namespace', ...strategy.selectableFields]);
    if (labels.empty && fields.empty) return undefined;
    return (object: Selectable) => labels.matches(object.labels) && fields.matches(object.fields);
  } catch (error) {
    if (error instanceof SelectorParseError) throw apiErrors.badRequest(error.message);
    throw error;
  }
}

function listOptionsInvalid(errors: FieldError[]): ApiError {
  return apiErrors.invalid({ group: 'meta.k8s.io', resource: 'listoptions', kind: 'ListOptions' }, '', errors);
}
