// Rules the three resources share: status handling, dataset mounts, and the field values they expose to selectors.
import { fieldErrors, type FieldError } from '../../api/meta/field-errors.js';
import type { KubeObject } from '../../api/meta/types.js';

export function dropStatus(object: KubeObject): void {
  delete object.status;
}

/** The main resource ignores status: it keeps whatever the old object had. */
export function keepOldStatus(object: KubeObject, old: KubeObject): void {
  if (old.status === undefined) delete object.status;
  else object.status = old.status;
}

/** A /status write ignores spec: it keeps whatever the old object had. */
export function keepOldSpec(object: KubeObject, old: KubeObject): void {
  if (old.spec === undefined) delete object.spec;
  else object.spec = old.spec;
}

export function phaseFieldValues(object: KubeObject): Record<string, string> {
  return {
    'metadata.name': object.metadata.name ?? '',
    'metadata.namespace': object.metadata.namespace ?? '',
    'status.phase': typeof object.status?.phase === 'string' ? object.status.phase : '',
  };
}

interface DatasetMount {
  name?: unknown;
  mountPath?: unknown;
}

export function validateDatasetMounts(mounts: unknown, field: string): FieldError[] {
  if (!Array.isArray(mounts)) return [];
  const errors: FieldError[] = [];
  const names = new Set<string>();
  const paths = new Set<string>();
  (mounts as DatasetMount[]).forEach((mount, i) => {
    if (typeof mount?.name === 'string') {
      if (names.has(mount.name)) errors.push(fieldErrors.duplicate(`${field}[${i}].name`, mount.name));
      names.add(mount.name);
    }
    if (typeof mount?.mountPath === 'string') {
      if (!mount.mountPath.startsWith('/')) errors.push(fieldErrors.invalid(`${field}[${i}].mountPath`, mount.mountPath, 'must be an absolute path'));
      if (paths.has(mount.mountPath)) errors.push(fieldErrors.duplicate(`${field}[${i}].mountPath`, mount.mountPath));
      paths.add(mount.mountPath);
    }
  });
  return errors;
}

export function immutable(next: unknown, old: unknown, field: string): FieldError[] {
  return JSON.stringify(next ?? null) === JSON.stringify(old ?? null) ? [] : [fieldErrors.invalid(field, next, 'field is immutable')];
}
