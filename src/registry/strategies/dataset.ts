// Dataset: data from s3://, http(s):// or pvc:// prefetched into a claim that notebooks and jobs mount.
import { isDns1123Label } from '../../api/meta/object-meta-validation.js';
import { group, schemaPrefix, version } from '../../api/v1alpha1/schemas.js';
import type { Strategy } from '../strategy.js';
import { dropStatus, immutable, keepOldSpec, keepOldStatus, phaseFieldValues } from './common.js';

export const datasetStrategy: Strategy = {
  info: {
    group,
    version,
    kind: 'Dataset',
    listKind: 'DatasetList',
    resource: 'datasets',
    singular: 'dataset',
    shortNames: ['ds'],
    categories: ['ai'],
    namespaced: true,
    subresources: ['status'],
  },
  schemaName: `${schemaPrefix}Dataset`,
  // The dataset's claim and loader Job carry its name in a label value: at most 63 characters.
  validateName: isDns1123Label,
  selectableFields: ['status.phase'],
  fieldValues: phaseFieldValues,
  prepareForCreate: (object) => {
    dropStatus(object);
    if (object.spec && typeof object.spec === 'object') object.spec.prefetch ??= true;
  },
  prepareForUpdate: (object, old) => {
    keepOldStatus(object, old);
    if (object.spec && typeof object.spec === 'object') object.spec.prefetch ??= true;
  },
  validate: () => [],
  validateUpdate: (object, old) => immutable(
    (object.spec?.source as { uri?: unknown } | undefined)?.uri,
    (old.spec?.source as { uri?: unknown } | undefined)?.uri,
    'spec.source.uri',
  ),
  warnings: () => [],
  prepareForStatusUpdate: keepOldSpec,
  validateStatusUpdate: () => [],
};
