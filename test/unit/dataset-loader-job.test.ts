// The Dataset controller's side of the loader's contract: the prefetch Job it asks for (credentials by secretKeyRef
// only, the S3 endpoint and region, the source claim read-only, permanent failures failing the Job at once) and what
// it reads back from the loader's pods (the report, or the latest failure's one line).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import type { Dataset } from '../../src/api/v1alpha1/types.js';
import { loaderOutcome, prefetchJob } from '../../src/controllers/dataset.js';

const job = { name: 'corpus-prefetch', claimName: 'corpus', labels: { 'ai.example.io/dataset': 'corpus' }, owner: [], image: 'ai-apiserver:0.1.0' };
const dataset = (source: Dataset['spec']['source']): Pick<Dataset, 'spec'> & { metadata: { namespace: string } } => ({ spec: { source }, metadata: { namespace: 'work' } });

describe('prefetch Job', () => {
  it('an s3:// source with a Secret: credentials by secretKeyRef, never by value; endpoint and region as values', () => {
    const made = prefetchJob(dataset({ uri: 's3://bucket/corpus', secretRef: { name: 'store-keys' }, endpoint: 'http://minio.storage:9000', region: 'eu-west-1' }), job);
    const container = made.spec!.template.spec!.containers[0]!;
    assert.deepEqual(container.command, ['/usr/local/bin/ai-dataset-loader']);
    assert.deepEqual(container.env, [
      { name: 'SOURCE_URI', value: 's3://bucket/corpus' },
      { name: 'S3_ENDPOINT', value: 'http://minio.storage:9000' },
      { name: 'AWS_REGION', value: 'eu-west-1' },
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'store-keys', key: 'AWS_ACCESS_KEY_ID', optional: false } } },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'store-keys', key: 'AWS_SECRET_ACCESS_KEY', optional: false } } },
      { name: 'AWS_SESSION_TOKEN', valueFrom: { secretKeyRef: { name: 'store-keys', key: 'AWS_SESSION_TOKEN', optional: true } } },
    ]);
    assert.deepEqual(container.volumeMounts, [{ name: 'data', mountPath: '/data' }]);
    assert.equal(container.terminationMessagePolicy, 'File');
    assert.deepEqual(made.spec!.podFailurePolicy!.rules[0], { action: 'FailJob', onExitCodes: { containerName: 'loader', operator: 'In', values: [2] } });
  });

  it('an http(s):// source without a Secret: only the URI', () => {
    const made = prefetchJob(dataset({ uri: 'https://example.org/weights.bin' }), job);
    assert.deepEqual(made.spec!.template.spec!.containers[0]!.env, [{ name: 'SOURCE_URI', value: 'https://example.org/weights.bin' }]);
  });

  it('a pvc:// source: the source claim mounted read-only at /source beside the Dataset claim at /data', () => {
    const made = prefetchJob(dataset({ uri: 'pvc://shared/corpus/v2' }), job);
    const spec = made.spec!.template.spec!;
    assert.deepEqual(spec.volumes, [
      { name: 'data', persistentVolumeClaim: { claimName: 'corpus' } },
      { name: 'source', persistentVolumeClaim: { claimName: 'shared', readOnly: true } },
    ]);
    assert.deepEqual(spec.containers[0]!.volumeMounts, [
      { name: 'data', mountPath: '/data' },
      { name: 'source', mountPath: '/source', readOnly: true },
    ]);
  });
});

const pod = (exitCode: number, message: string, finishedAt: string): V1Pod => ({
  status: { containerStatuses: [{ name: 'loader', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode, message, finishedAt: new Date(finishedAt) } } }] },
});

describe("the loader's pods", () => {
  const cases: { name: string; pods: V1Pod[]; want: ReturnType<typeof loaderOutcome> }[] = [
    { name: 'a success reports bytes and files', pods: [pod(0, '{"bytes":12,"files":3}', '2026-01-01T00:00:00Z')], want: { report: { bytes: 12, files: 3 } } },
    {
      name: 'the latest failure is the one shown',
      pods: [pod(1, 'size mismatch: the connection ended after 5 bytes of 9; gave up after 5 attempts', '2026-01-01T00:00:00Z'), pod(2, 'https://h/x: HTTP 404 Not Found: the file does not exist on the server', '2026-01-01T00:01:00Z')],
      want: { failure: 'https://h/x: HTTP 404 Not Found: the file does not exist on the server' },
    },
    { name: 'a retry that succeeded after a failure', pods: [pod(1, 'interrupted by SIGTERM', '2026-01-01T00:00:00Z'), pod(0, '{"bytes":1,"files":1}', '2026-01-01T00:01:00Z')], want: { report: { bytes: 1, files: 1 }, failure: 'interrupted by SIGTERM' } },
    { name: 'a pod that died without a message says nothing', pods: [pod(137, '', '2026-01-01T00:00:00Z')], want: {} },
  ];
  for (const tc of cases) it(tc.name, () => assert.deepEqual(loaderOutcome(tc.pods), tc.want));
});
