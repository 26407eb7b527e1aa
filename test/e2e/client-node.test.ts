// A client-go style consumer from the TypeScript side: @kubernetes/client-node's informer (list, then watch from
// the list's resourceVersion) sees every change made through KubernetesObjectApi.
import assert from 'node:assert/strict';
import { after, beforeEach, it } from 'node:test';
import { CustomObjectsApi, KubeConfig, KubernetesObjectApi, makeInformer, ADD, UPDATE, DELETE, type KubernetesObject } from '@kubernetes/client-node';
import { lazyServer, type ServerProcess } from '../support/server.js';

let server: ServerProcess;
const lazy = lazyServer();
beforeEach(async () => void (server = await lazy.ready()));
after(() => lazy.stop());

it('an informer lists, then watches, and sees every add, update and delete in order', async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfig);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const namespace = 'informer';
  const notebook = (name: string): KubernetesObject & Record<string, unknown> => ({
    apiVersion: 'ai.example.io/v1alpha1',
    kind: 'Notebook',
    metadata: { name, namespace },
    spec: { template: { spec: { containers: [{ name: 'nb', image: 'jupyter' }] } }, workspace: { size: '1Gi' } },
  });
  await objects.create(notebook('before'));

  const informer = makeInformer(kc, `/apis/ai.example.io/v1alpha1/namespaces/${namespace}/notebooks`, () =>
    custom.listNamespacedCustomObject({ group: 'ai.example.io', version: 'v1alpha1', namespace, plural: 'notebooks' }),
  );
  const seen: string[] = [];
  informer.on(ADD, (o) => seen.push(`ADD ${o.metadata?.name}`));
  informer.on(UPDATE, (o) => seen.push(`UPDATE ${o.metadata?.name} ${o.metadata?.labels?.step ?? ''}`.trim()));
  informer.on(DELETE, (o) => seen.push(`DELETE ${o.metadata?.name}`));
  await informer.start();
  try {
    const waitFor = async (entry: string): Promise<void> => {
      const deadline = Date.now() + 15_000;
      while (!seen.includes(entry)) {
        if (Date.now() > deadline) throw new Error(`informer never saw "${entry}"; saw ${JSON.stringify(seen)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitFor('ADD before');
    await objects.create(notebook('during'));
    for (const step of ['1', '2']) {
      const current = await objects.read({ apiVersion: 'ai.example.io/v1alpha1', kind: 'Notebook', metadata: { name: 'during', namespace } });
      current.metadata!.labels = { step };
      await objects.replace(current);
    }
    await objects.delete({ apiVersion: 'ai.example.io/v1alpha1', kind: 'Notebook', metadata: { name: 'during', namespace } });
    await waitFor('DELETE during');
    assert.deepEqual(seen, ['ADD before', 'ADD during', 'UPDATE during 1', 'UPDATE during 2', 'DELETE during']);
    assert.deepEqual(informer.list(namespace).map((o) => o.metadata?.name), ['before']);
  } finally {
    await informer.stop();
  }
});
