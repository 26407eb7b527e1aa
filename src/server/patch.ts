// PATCH bodies by content type: RFC 6902 JSON patch (with `test`), RFC 7386 merge patch, and server-side apply
// (YAML or JSON). Strategic merge answers 415, as kube-apiserver answers for custom resources, so clients
// (kubectl, the garbage collector) fall back to merge patch.
import jsonPatch, { type Operation } from 'fast-json-patch';
import mergePatch from 'json-merge-patch';
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../api/meta/types.js';
import { ApiError, apiErrors } from '../registry/errors.js';

export type PatchType = 'json' | 'merge' | 'apply';

export const supportedPatchTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];

export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json-patch+json') return 'json';
  if (type === 'application/merge-patch+json') return 'merge';
  if (type === 'application/apply-patch+yaml') return 'apply';
  return undefined;
}

export function unsupportedPatch(): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${supportedPatchTypes.join(', ')}`,
  );
}

/** An apply configuration: a YAML (or JSON) mapping, read as sigs.k8s.io/yaml reads it (YAML 1.1). */
export function parseApplyPatch(body: unknown): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseYaml(typeof body === 'string' ? body : '', { version: '1.1' });
  } catch (error) {
    throw apiErrors.badRequest(`error decoding YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || parsed === undefined) parsed = {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    const type = Array.isArray(parsed) ? 'array' : typeof parsed;
    throw apiErrors.badRequest(`error decoding YAML: json: cannot unmarshal ${type} into Go value of type map[string]interface {}`);
  }
  return parsed as Record<string, unknown>;
}

/** Checks a patch document's shape before any object is read. */
export function validatePatch(type: Exclude<PatchType, 'apply'>, patch: unknown): void {
  if (type === 'json' && !Array.isArray(patch)) throw apiErrors.badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  if (type === 'merge' && (patch === null || typeof patch !== 'object' || Array.isArray(patch))) {
    throw apiErrors.badRequest('the merge patch must be a JSON object');
  }
}

export function applyPatch(type: Exclude<PatchType, 'apply'>, current: KubeObject, patch: unknown): unknown {
  if (type === 'merge') return mergePatch.apply(structuredClone(current), patch);
  try {
    return jsonPatch.applyPatch(structuredClone(current), patch as Operation[], true, false).newDocument;
  } catch (error) {
    if (error instanceof jsonPatch.JsonPatchError) {
      throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${error.message.split('\n')[0]}`);
    }
    throw error;
  }
}
