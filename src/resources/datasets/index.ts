// Dataset: data from s3://, http(s):// or pvc:// prefetched into a claim that notebooks and jobs mount.
import { isDns1123Label } from '../../api/meta/object-meta-validation.js';
import { ageColumn, column, count, fieldAt, nameColumn, text } from '../../api/meta/printers.js';
import type { KubeObject } from '../../api/meta/types.js';
import { componentSchemas, schemaPrefix } from '../../api/v1alpha1/schemas.js';
import type { ServedDefinition } from '../../server/connect.js';
import { aiGroup, immutable, phaseColumn } from '../common.js';

const sourceUri = (object: KubeObject): unknown => (object.spec?.source as { uri?: unknown } | undefined)?.uri;

function setDefaults(object: KubeObject): void {
  if (object.spec && typeof object.spec === 'object') object.spec.prefetch ??= true;
}

export const datasets: ServedDefinition = {
  ...aiGroup,
  kind: 'Dataset',
  resource: 'datasets',
  singular: 'dataset',
  // "ds" is daemonsets' short name; see notebooks for how these were chosen.
  shortNames: ['aidata'],
  schema: { name: `${schemaPrefix}Dataset`, components: componentSchemas },
  // The dataset's claim and loader Job carry its name in a label value: at most 63 characters.
  validateName: isDns1123Label,
  selectableFields: ['status.phase'],
  strategy: {
    prepareForCreate: setDefaults,
    prepareForUpdate: setDefaults,
    validateUpdate: (object, old) => immutable(sourceUri(object), sourceUri(old), 'spec.source.uri'),
  },
  printerColumns: [
    nameColumn,
    phaseColumn,
    column('Size', 'string', 'Capacity of the claim holding the data.', (o) => text(fieldAt(o, ['spec', 'size']))),
    column('Source', 'string', 'Where the data comes from.', (o) => text(fieldAt(o, ['spec', 'source', 'uri']))),
    ageColumn,
    column('Bytes', 'integer', 'Bytes loaded.', (o) => count(fieldAt(o, ['status', 'bytes'])), 1),
    column('Files', 'integer', 'Files loaded.', (o) => count(fieldAt(o, ['status', 'files'])), 1),
  ],
};
