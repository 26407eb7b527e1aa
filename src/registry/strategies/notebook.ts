// Notebook: an interactive workspace. One pod template, an optional persistent workspace, datasets, stop and idle.
import { fieldErrors, type FieldError } from '../../api/meta/field-errors.js';
import { isDns1035Label } from '../../api/meta/object-meta-validation.js';
import type { KubeObject } from '../../api/meta/types.js';
import { group, schemaPrefix, version } from '../../api/v1alpha1/schemas.js';
import type { Strategy } from '../strategy.js';
import { dropStatus, keepOldSpec, keepOldStatus, phaseFieldValues, validateDatasetMounts } from './common.js';

function validateSpec(object: KubeObject): FieldError[] {
  const spec = object.spec ?? {};
  const errors = validateDatasetMounts(spec.datasets, 'spec.datasets');
  const workspace = spec.workspace as { size?: unknown; existingClaim?: unknown } | undefined;
  if (workspace && typeof workspace === 'object') {
    if (workspace.size !== undefined && workspace.existingClaim !== undefined) {
      errors.push(fieldErrors.forbidden('spec.workspace', 'size and existingClaim are mutually exclusive'));
    }
    if (workspace.size === undefined && workspace.existingClaim === undefined) {
      errors.push(fieldErrors.required('spec.workspace', 'one of size or existingClaim is required'));
    }
  }
  return errors;
}

export const notebookStrategy: Strategy = {
  info: {
    group,
    version,
    kind: 'Notebook',
    listKind: 'NotebookList',
    resource: 'notebooks',
    singular: 'notebook',
    shortNames: ['nb'],
    categories: ['ai'],
    namespaced: true,
    subresources: ['status'],
    connect: [
      {
        name: 'proxy',
        verbs: ['create', 'delete', 'get', 'patch', 'update'],
        methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
        path: true,
        query: [],
        kind: 'NotebookProxyOptions',
        description: 'connect to the notebook\'s UI: requests and WebSockets go to its Service',
      },
    ],
  },
  schemaName: `${schemaPrefix}Notebook`,
  // The notebook's Service is named after it, and Service names are DNS-1035 labels.
  validateName: isDns1035Label,
  selectableFields: ['status.phase'],
  fieldValues: phaseFieldValues,
  prepareForCreate: dropStatus,
  prepareForUpdate: keepOldStatus,
  validate: validateSpec,
  validateUpdate: (object) => validateSpec(object),
  warnings: (object) =>
    object.spec?.workspace === undefined ? ['spec.workspace is not set: files written in the notebook are lost when it stops'] : [],
  prepareForStatusUpdate: keepOldSpec,
  validateStatusUpdate: () => [],
};
