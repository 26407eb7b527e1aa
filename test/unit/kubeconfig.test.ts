// Delegated mode without --kubeconfig: the in-cluster configuration a pod gets, or client-go's refusal outside one.
import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { loadKubeConfig } from '../../src/kube/kubeconfig.js';

const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
afterEach(() => {
  for (const [name, value] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

it('in a pod: kube-apiserver at KUBERNETES_SERVICE_HOST/PORT, with the mounted CA and the token file (read at each refresh, not once)', () => {
  process.env.KUBERNETES_SERVICE_HOST = 'fd00::1';
  process.env.KUBERNETES_SERVICE_PORT = '443';
  const kc = loadKubeConfig();
  assert.equal(kc.getCurrentCluster()?.server, 'https://[fd00::1]:443');
  assert.equal(kc.getCurrentCluster()?.caFile, '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt');
  assert.deepEqual(kc.getCurrentUser()?.authProvider, { name: 'tokenFile', config: { tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' } });
});

it('outside a pod and without --kubeconfig: client-go\'s refusal, naming the flag', () => {
  delete process.env.KUBERNETES_SERVICE_HOST;
  process.env.KUBERNETES_SERVICE_PORT = '443';
  assert.throws(() => loadKubeConfig(), {
    message: 'unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined (or give --kubeconfig)',
  });
});
