// Notebook: an interactive workspace. One pod template, an optional persistent workspace, datasets, stop and idle.
import { fieldErrors, type FieldError } from '../../api/meta/field-errors.js';
import { isDns1035Label } from '../../api/meta/object-meta-validation.js';
import { ageColumn, column, count, fieldAt, nameColumn, text } from '../../api/meta/printers.js';
import type { KubeObject } from '../../api/meta/types.js';
import { componentSchemas, schemaPrefix } from '../../api/v1alpha1/schemas.js';
import type { ServedDefinition } from '../../server/connect.js';
import { notebookProxy } from '../../server/notebook-proxy.js';
import { aiGroup, firstImage, phaseColumn, validateDatasetMounts } from '../common.js';

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

export const notebooks: ServedDefinition = {
  ...aiGroup,
  kind: 'Notebook',
  resource: 'notebooks',
  singular: 'notebook',
  // Short names no built-in resource and no widely installed CRD uses (Kueue, JobSet, Kubeflow, Fluid, Argo, Volcano;
  // test/e2e/short-names.test.ts): kubectl resolves them to this group alone, without a warning.
  shortNames: ['ainb'],
  schema: { name: `${schemaPrefix}Notebook`, components: componentSchemas },
  // The notebook's Service is named after it, and Service names are DNS-1035 labels.
  validateName: isDns1035Label,
  selectableFields: ['status.phase'],
  strategy: {
    validate: validateSpec,
    warnings: (object) =>
      object.spec?.workspace === undefined ? ['spec.workspace is not set: files written in the notebook are lost when it stops'] : [],
  },
  printerColumns: [
    nameColumn,
    phaseColumn,
    column('Ready', 'string', 'Ready notebook pods out of those wanted.', (o) =>
      `${count(fieldAt(o, ['status', 'readyReplicas']))}/${fieldAt(o, ['spec', 'stopped']) === true ? 0 : 1}`,
    ),
    column('Image', 'string', 'Image of the first container.', firstImage),
    ageColumn,
    column('URL', 'string', 'Where the notebook UI is served (status.url).', (o) => text(fieldAt(o, ['status', 'url'])), 1),
    column('Idle-Timeout', 'string', 'Seconds idle before the notebook is stopped.', (o) => text(fieldAt(o, ['spec', 'idle', 'timeoutSeconds'])), 1),
  ],
  connect: [
    {
      name: 'proxy',
      verbs: ['create', 'delete', 'get', 'patch', 'update'],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      path: true,
      query: [],
      kind: 'NotebookProxyOptions',
      description: 'connect to the notebook\'s UI: requests and WebSockets go to its Service',
      handler: notebookProxy,
    },
  ],
};
