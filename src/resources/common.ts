// Rules and columns more than one of our resources shares: dataset mounts, immutable fields, phase and image.
import { fieldErrors, type FieldError } from '../api/meta/field-errors.js';
import { column, fieldAt, text } from '../api/meta/printers.js';
import type { KubeObject } from '../api/meta/types.js';
import { group, version } from '../api/v1alpha1/schemas.js';

export const aiGroup = { group, version, namespaced: true, categories: ['ai'] };

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

export const phaseColumn = column('Phase', 'string', 'A summary of the state (status.phase).', (o) => text(fieldAt(o, ['status', 'phase'])));

export const firstImage = (o: KubeObject): string => {
  const containers = fieldAt(o, ['spec', 'template', 'spec', 'containers']);
  return Array.isArray(containers) ? text((containers[0] as { image?: unknown } | undefined)?.image) : '';
};
