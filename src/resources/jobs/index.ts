// Job: distributed training, fixed-size (replicas) or elastic (min..max workers), on a pod template.
import { fieldErrors, type FieldError } from '../../api/meta/field-errors.js';
import { isDns1035Label } from '../../api/meta/object-meta-validation.js';
import { ageColumn, column, count, fieldAt, humanDuration, nameColumn, text } from '../../api/meta/printers.js';
import type { KubeObject } from '../../api/meta/types.js';
import { componentSchemas, schemaPrefix } from '../../api/v1alpha1/schemas.js';
import type { ServedDefinition } from '../../server/connect.js';
import { jobLogs } from '../../server/job-logs.js';
import { aiGroup, firstImage, immutable, phaseColumn, validateDatasetMounts } from '../common.js';

function setDefaults(object: KubeObject): void {
  const spec = object.spec;
  if (!spec || typeof spec !== 'object') return;
  spec.framework ??= 'pytorch';
  spec.nprocPerNode ??= 1;
  // An elastic job starts at its ceiling; the scale subresource (an HPA, kubectl scale) moves it within bounds.
  const elastic = spec.elastic as { maxReplicas?: unknown } | undefined;
  if (spec.replicas === undefined) spec.replicas = typeof elastic?.maxReplicas === 'number' ? elastic.maxReplicas : 1;
}

function validateSpec(object: KubeObject): FieldError[] {
  const spec = object.spec ?? {};
  const errors = validateDatasetMounts(spec.datasets, 'spec.datasets');
  const elastic = spec.elastic as { minReplicas?: unknown; maxReplicas?: unknown } | undefined;
  if (elastic && typeof elastic.minReplicas === 'number' && typeof elastic.maxReplicas === 'number') {
    if (elastic.maxReplicas < elastic.minReplicas) {
      errors.push(fieldErrors.invalid('spec.elastic.maxReplicas', elastic.maxReplicas, 'must be greater than or equal to minReplicas'));
    } else if (typeof spec.replicas === 'number' && (spec.replicas < elastic.minReplicas || spec.replicas > elastic.maxReplicas)) {
      errors.push(
        fieldErrors.invalid('spec.replicas', spec.replicas, `must be between elastic.minReplicas (${elastic.minReplicas}) and elastic.maxReplicas (${elastic.maxReplicas})`),
      );
    }
  }
  const template = spec.template as { spec?: { restartPolicy?: unknown } } | undefined;
  const restartPolicy = template?.spec?.restartPolicy;
  if (restartPolicy !== undefined && restartPolicy !== 'Never' && restartPolicy !== 'OnFailure') {
    errors.push(fieldErrors.notSupported('spec.template.spec.restartPolicy', restartPolicy, ['OnFailure', 'Never']));
  }
  return errors;
}

export const jobs: ServedDefinition = {
  ...aiGroup,
  kind: 'Job',
  resource: 'jobs',
  singular: 'job',
  // "job" would shadow batch/v1 jobs for kubectl; "aijob" collides with nothing (see notebooks).
  shortNames: ['aijob'],
  schema: { name: `${schemaPrefix}Job`, components: componentSchemas },
  // Workers are batch Jobs and a headless Service named after the job: DNS-1035 labels.
  validateName: isDns1035Label,
  selectableFields: ['status.phase'],
  strategy: {
    prepareForCreate: setDefaults,
    prepareForUpdate: setDefaults,
    validate: validateSpec,
    validateUpdate: (object, old) => [
      ...validateSpec(object),
      ...immutable(object.spec?.framework, old.spec?.framework, 'spec.framework'),
    ],
  },
  printerColumns: [
    nameColumn,
    phaseColumn,
    column('Replicas', 'string', 'Workers wanted, and the elastic bounds: "4 (2-8)".', (o) => {
      const elastic = fieldAt(o, ['spec', 'elastic']) as { minReplicas?: number; maxReplicas?: number } | undefined;
      const replicas = text(fieldAt(o, ['spec', 'replicas']));
      return elastic ? `${replicas} (${text(elastic.minReplicas)}-${text(elastic.maxReplicas)})` : replicas;
    }),
    column('Active', 'integer', 'Workers running.', (o) => count(fieldAt(o, ['status', 'active']))),
    column('Succeeded', 'integer', 'Workers that succeeded.', (o) => count(fieldAt(o, ['status', 'succeeded']))),
    column('Progress', 'string', 'Steps done of the total rank 0 last reported: "120/1000".', (o) => {
      const progress = fieldAt(o, ['status', 'progress']) as { step?: number; totalSteps?: number } | undefined;
      if (progress?.step === undefined) return '';
      return progress.totalSteps === undefined ? String(progress.step) : `${progress.step}/${progress.totalSteps}`;
    }),
    column('ETA', 'string', 'Time left, from rank 0\'s last report and how long ago it came.', (o, now) => {
      const progress = fieldAt(o, ['status', 'progress']) as { estimatedRemainingSeconds?: number; lastUpdateTime?: string } | undefined;
      const phase = fieldAt(o, ['status', 'phase']);
      if (progress?.estimatedRemainingSeconds === undefined || phase === 'Succeeded' || phase === 'Failed') return '';
      const since = progress.lastUpdateTime ? Math.max(0, now - Date.parse(progress.lastUpdateTime)) : 0;
      return humanDuration(Math.max(0, progress.estimatedRemainingSeconds * 1000 - (Number.isNaN(since) ? 0 : since)));
    }),
    ageColumn,
    column('Failed', 'integer', 'Workers that failed.', (o) => count(fieldAt(o, ['status', 'failed'])), 1),
    column('Framework', 'string', 'How workers find each other.', (o) => text(fieldAt(o, ['spec', 'framework'])), 1),
    column('Image', 'string', 'Image of the first container.', firstImage, 1),
  ],
  // Rank 0 reports its training progress here, into status.progress (src/registry/progress.ts).
  progress: { kind: 'JobProgress', schemaName: `${schemaPrefix}JobProgress` },
  // An autoscaler (or kubectl scale) drives spec.replicas; for an elastic job validation keeps it within bounds.
  scale: {
    replicasPath: [{ field: 'spec' }, { field: 'replicas' }],
    jsonPaths: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
    specReplicas: (object) => (typeof object.spec?.replicas === 'number' ? object.spec.replicas : 0),
    statusReplicas: (object) => (typeof object.status?.replicas === 'number' ? object.status.replicas : 0),
    selector: (object) =>
      typeof object.status?.selector === 'string' ? object.status.selector : `ai.example.io/job-name=${object.metadata.name ?? ''}`,
    withReplicas: (object, replicas) => ({ ...object, spec: { ...(object.spec ?? {}), replicas } }),
  },
  connect: [
    {
      name: 'logs',
      verbs: ['get'],
      methods: ['GET'],
      path: false,
      query: [
        { name: 'follow', description: 'Follow the log streams of every rank, including ranks that start later.', type: 'boolean' },
        { name: 'tailLines', description: 'Lines from the end of each rank\'s log to show.', type: 'integer' },
        { name: 'sinceSeconds', description: 'Only lines newer than this many seconds.', type: 'integer' },
        { name: 'rank', description: 'Only this rank.', type: 'integer' },
      ],
      kind: 'JobLogOptions',
      description: 'the logs of every rank, merged, each line prefixed with its rank',
      handler: jobLogs,
    },
  ],
};
