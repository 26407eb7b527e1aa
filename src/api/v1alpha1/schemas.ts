// JSON Schema (OpenAPI v3 flavour) of every kind in ai.example.io/v1alpha1: the source of truth for validation,
// the generated TypeScript types and, later, the OpenAPI documents. Kubernetes' own schemas (PodTemplateSpec,
// ObjectMeta, Quantity) come from kubernetes-schemas.json, extracted from the k8s.io/kubernetes module.
import k8sCore from '../k8s/kubernetes-schemas.json' with { type: 'json' };

export type JsonSchema = Record<string, unknown>;

export const group = 'ai.example.io';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;

/** Component names: Kubernetes' own, and ours under the reversed group name as kube-openapi names them. */
export const schemaPrefix = 'io.example.ai.v1alpha1.';
const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const k8sRef = (name: string): JsonSchema => ref(name);
const ourRef = (name: string): JsonSchema => ref(schemaPrefix + name);
/** A reference with its own description: OpenAPI 3.0 ignores siblings of $ref, so wrap it as kube-openapi does. */
const described = (target: JsonSchema, description: string): JsonSchema => ({ allOf: [target], description });

const int32 = (description: string, minimum?: number): JsonSchema => ({
  type: 'integer',
  format: 'int32',
  description,
  ...(minimum === undefined ? {} : { minimum }),
});
const int64 = (description: string, minimum?: number): JsonSchema => ({
  type: 'integer',
  format: 'int64',
  description,
  ...(minimum === undefined ? {} : { minimum }),
});
const str = (description: string): JsonSchema => ({ type: 'string', description });
const bool = (description: string): JsonSchema => ({ type: 'boolean', description });
const time = (description: string): JsonSchema => described(k8sRef('io.k8s.apimachinery.pkg.apis.meta.v1.Time'), description);
const quantity = (description: string): JsonSchema => described(k8sRef('io.k8s.apimachinery.pkg.api.resource.Quantity'), description);

const conditions: JsonSchema = {
  type: 'array',
  description: 'The latest observations of the object\'s state, as metav1.Condition.',
  items: ourRef('Condition'),
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
};

const datasetMounts: JsonSchema = {
  type: 'array',
  description: 'Datasets of the same namespace to mount; the workload waits until each is Ready.',
  items: ourRef('DatasetMount'),
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['name'],
};

function topLevel(kind: string, description: string): JsonSchema {
  return {
    type: 'object',
    description,
    required: ['spec'],
    properties: {
      apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
      kind: str('Kind is a string value representing the REST resource this object represents.'),
      metadata: described(k8sRef('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'), 'Standard object metadata.'),
      spec: described(ourRef(`${kind}Spec`), `The desired state of the ${kind}.`),
      status: described(ourRef(`${kind}Status`), `The observed state of the ${kind}, written by its controller.`),
    },
    'x-kubernetes-group-version-kind': [{ group, version, kind }],
  };
}

/** What rank 0 reports of a Job's training, in status.progress and in the JobProgress it writes. */
const progressFields: Record<string, JsonSchema> = {
  step: int64('Optimizer steps done.', 0),
  totalSteps: int64('Optimizer steps the run will take.', 0),
  epoch: int64('The current epoch.', 0),
  totalEpochs: int64('Epochs the run will take.', 0),
  metrics: {
    type: 'object',
    description: 'Latest values of the training metrics, by name (loss, accuracy, tokens per second).',
    additionalProperties: { type: 'number', format: 'double' },
    maxProperties: 32,
  },
  estimatedRemainingSeconds: int64('Seconds the run still needs, as rank 0 estimates it; when it sends none, the server estimates it from the steps done since its previous report.', 0),
  lastUpdateTime: time('When the server accepted this report; set by the server.'),
};

const ourSchemas: Record<string, JsonSchema> = {
  Condition: {
    type: 'object',
    description: 'Condition contains details for one aspect of the current state of this API resource (metav1.Condition).',
    required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
    properties: {
      type: { type: 'string', maxLength: 316, description: 'Type of condition in CamelCase.' },
      status: { type: 'string', enum: ['True', 'False', 'Unknown'], description: 'Status of the condition.' },
      observedGeneration: int64('The .metadata.generation the condition was set based upon.', 0),
      lastTransitionTime: time('Last time the condition transitioned from one status to another.'),
      reason: { type: 'string', maxLength: 1024, minLength: 1, description: 'A programmatic identifier for the last transition, in CamelCase.' },
      message: { type: 'string', maxLength: 32768, description: 'A human readable message about the transition.' },
    },
  },
  DatasetMount: {
    type: 'object',
    description: 'A Dataset of the same namespace mounted into every pod of the workload once it is Ready.',
    required: ['name', 'mountPath'],
    properties: {
      name: str('Name of the Dataset.'),
      mountPath: str('Absolute path inside the containers where the dataset appears.'),
      readOnly: bool('Mount read-only. Defaults to true.'),
    },
  },
  Workspace: {
    type: 'object',
    description: 'The persistent home of a notebook: a new claim of the given size, or an existing claim.',
    properties: {
      size: quantity('Size of a new PersistentVolumeClaim for the workspace.'),
      storageClassName: str('StorageClass of the new claim; the cluster default when empty.'),
      existingClaim: str('Name of an existing PersistentVolumeClaim to use instead of a new one.'),
      mountPath: str('Where the workspace is mounted. Defaults to /home/jovyan.'),
    },
  },
  IdlePolicy: {
    type: 'object',
    description: 'When an idle notebook is stopped (its workspace is kept).',
    required: ['timeoutSeconds'],
    properties: {
      timeoutSeconds: int64('Seconds without activity after which the notebook is stopped.', 60),
    },
  },
  NotebookSpec: {
    type: 'object',
    description: 'The desired state of a Notebook.',
    required: ['template'],
    properties: {
      template: described(k8sRef('io.k8s.api.core.v1.PodTemplateSpec'), 'The pod that runs the notebook server.'),
      workspace: described(ourRef('Workspace'), 'The persistent home directory of the notebook.'),
      datasets: datasetMounts,
      stopped: bool('Stop the notebook (scale to zero) while keeping its workspace.'),
      idle: described(ourRef('IdlePolicy'), 'Stop the notebook after a period without activity.'),
    },
  },
  NotebookStatus: {
    type: 'object',
    description: 'The observed state of a Notebook.',
    properties: {
      phase: { type: 'string', enum: ['Pending', 'Running', 'Stopped', 'Failed', 'Unknown'], description: 'A summary of the notebook\'s state.' },
      conditions,
      observedGeneration: int64('The generation the controller last acted on.', 0),
      readyReplicas: int32('Number of ready notebook pods.', 0),
      lastActivityTime: time('Last time the notebook was seen active.'),
      url: str('Where the notebook UI is served.'),
    },
  },
  Notebook: topLevel('Notebook', 'Notebook is an interactive Jupyter-style workspace.'),
  ElasticPolicy: {
    type: 'object',
    description: 'Run between minReplicas and maxReplicas workers, as torchrun\'s elastic rendezvous allows.',
    required: ['minReplicas', 'maxReplicas'],
    properties: {
      minReplicas: int32('Fewest workers the job runs with.', 1),
      maxReplicas: int32('Most workers the job runs with.', 1),
    },
  },
  RunPolicy: {
    type: 'object',
    description: 'How failures, deadlines and finished jobs are handled.',
    properties: {
      backoffLimit: int32('Retries before the job is marked Failed.', 0),
      activeDeadlineSeconds: int64('Seconds the job may run before it is terminated.', 1),
      ttlSecondsAfterFinished: int32('Seconds after finishing before the job, its batch Job and pods are deleted.', 0),
    },
  },
  GangFailurePolicy: {
    type: 'object',
    description: 'Whole-gang restarts: when a rank fails, every rank restarts together in a new batch Job, as torchrun\'s elastic agent needs. Disruptions (preemption, eviction, node loss) are not counted: the batch Job replaces the disrupted pod.',
    properties: {
      maxRestarts: int32('Whole-gang restarts before the job is marked Failed.', 0),
      permanentExitCodes: {
        type: 'array',
        description: 'Exit codes that fail the job at once, without a restart.',
        items: { type: 'integer', format: 'int32', minimum: 1, maximum: 255 },
        maxItems: 255,
        'x-kubernetes-list-type': 'set',
      },
    },
  },
  JobSpec: {
    type: 'object',
    description: 'The desired state of a distributed training Job.',
    required: ['template'],
    properties: {
      replicas: int32('Number of worker nodes; for an elastic job, the current size within its bounds (maxReplicas by default).', 1),
      elastic: described(ourRef('ElasticPolicy'), 'Elastic sizing: replicas may move between minReplicas and maxReplicas.'),
      template: described(k8sRef('io.k8s.api.core.v1.PodTemplateSpec'), 'The pod every worker runs.'),
      framework: { type: 'string', enum: ['pytorch', 'generic'], description: 'How workers find each other. Defaults to pytorch.' },
      nprocPerNode: int32('Processes per worker (torchrun --nproc-per-node). Defaults to 1.', 1),
      suspend: bool('Suspend the job: no pods run while true.'),
      datasets: datasetMounts,
      runPolicy: described(ourRef('RunPolicy'), 'Failure, deadline and cleanup policy.'),
      failurePolicy: described(ourRef('GangFailurePolicy'), 'Restart the whole gang when a rank fails; runPolicy.backoffLimit does not apply.'),
    },
  },
  JobStatus: {
    type: 'object',
    description: 'The observed state of a Job.',
    properties: {
      phase: { type: 'string', enum: ['Pending', 'Running', 'Succeeded', 'Failed', 'Suspended'], description: 'A summary of the job\'s state.' },
      conditions,
      observedGeneration: int64('The generation the controller last acted on.', 0),
      active: int32('Workers running.', 0),
      succeeded: int32('Workers that succeeded.', 0),
      failed: int32('Workers that failed.', 0),
      replicas: int32('Workers the job currently asks for.', 0),
      selector: str('Label selector of the worker pods, for the scale subresource.'),
      startTime: time('When the job started running.'),
      completionTime: time('When the job finished.'),
      restarts: int32('Whole-gang restarts so far (spec.failurePolicy).', 0),
      progress: described(ourRef('JobProgressStatus'), 'What rank 0 last reported through the progress subresource.'),
    },
  },
  JobProgressStatus: {
    type: 'object',
    description: 'Training progress as rank 0 reports it: where it is, how far it has to go, and its latest metrics.',
    properties: progressFields,
  },
  JobProgress: {
    type: 'object',
    description: 'JobProgress is the progress subresource of a Job: what rank 0 writes, and what a reader gets, of status.progress.',
    properties: {
      apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
      kind: str('Kind is a string value representing the REST resource this object represents.'),
      metadata: described(k8sRef('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'), 'The metadata of the Job: its name, namespace, uid and resourceVersion.'),
      ...progressFields,
    },
  },
  Job: topLevel('Job', 'Job is a distributed, optionally elastic, training job.'),
  LocalSecretReference: {
    type: 'object',
    description: 'A Secret in the namespace of the object that names it.',
    required: ['name'],
    properties: {
      name: str('Name of the Secret.'),
    },
    'x-kubernetes-map-type': 'atomic',
  },
  DatasetSource: {
    type: 'object',
    description: 'Where the data comes from.',
    required: ['uri'],
    properties: {
      uri: {
        type: 'string',
        pattern: '^(s3|https?|pvc)://.+',
        description: 's3://bucket/prefix (every object under the prefix), http(s)://host/path (one file) or pvc://claim/path (a file or folder of another claim in the namespace).',
      },
      secretRef: described(
        ourRef('LocalSecretReference'),
        'For s3:// sources: a Secret holding the credentials under the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and, optionally, AWS_SESSION_TOKEN), handed to the loader as environment variables. Without it the loader uses the default credentials of its pod.',
      ),
      endpoint: {
        type: 'string',
        pattern: '^https?://.+',
        description: 'For s3:// sources: the URL of an S3-compatible store (MinIO, Ceph RGW, ...), addressed path-style. AWS S3 when empty.',
      },
      region: str('For s3:// sources: the region of the bucket. us-east-1 when empty.'),
    },
  },
  DatasetSpec: {
    type: 'object',
    description: 'The desired state of a Dataset.',
    required: ['source'],
    properties: {
      source: described(ourRef('DatasetSource'), 'Where the data comes from.'),
      size: quantity('Capacity of the claim that holds the data.'),
      storageClassName: str('StorageClass of that claim; the cluster default when empty.'),
      prefetch: bool('Copy the data into the claim ahead of use. Defaults to true.'),
    },
  },
  DatasetStatus: {
    type: 'object',
    description: 'The observed state of a Dataset.',
    properties: {
      phase: { type: 'string', enum: ['Pending', 'Loading', 'Ready', 'Failed'], description: 'A summary of the dataset\'s state.' },
      conditions,
      observedGeneration: int64('The generation the controller last acted on.', 0),
      bytes: int64('Bytes loaded.', 0),
      files: int64('Files loaded.', 0),
    },
  },
  Dataset: topLevel('Dataset', 'Dataset is data prefetched into a claim for notebooks and jobs.'),
};

/** Every schema by component name: Kubernetes' and ours, as one OpenAPI components.schemas map. */
export const componentSchemas: Record<string, JsonSchema> = {
  ...(k8sCore.schemas as Record<string, JsonSchema>),
  ...Object.fromEntries(Object.entries(ourSchemas).map(([name, schema]) => [schemaPrefix + name, schema])),
};

export const k8sSchemasSource: string = k8sCore.source;
