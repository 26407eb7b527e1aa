// `kubectl ai open <notebook>`: the notebook's UI in a browser, through a local proxy with the user's credentials
// and kube-apiserver's notebooks/proxy; it serves until interrupted.
import type { Notebook } from '../../api/v1alpha1/types.js';
import { Transport } from '../../kube/transport.js';
import type { UserKubeConfig } from '../kubeconfig.js';
import { startLocalProxy } from '../local-proxy.js';
import { objectPath } from '../paths.js';
import { serveUntilStopped, type ServingOptions } from './serving.js';

export async function openNotebook({ kubeConfig, namespace }: UserKubeConfig, name: string, options: ServingOptions): Promise<void> {
  // Read first: a notebook that does not exist, or that the user may not see, fails here with kube's own message.
  const path = objectPath('notebooks', namespace, name);
  const notebook = await new Transport(kubeConfig).json<Notebook>({ method: 'GET', path });
  if (notebook.spec?.stopped) options.err(`notebook "${name}" is stopped: start it with kubectl patch notebook ${name} -n ${namespace} --type=merge -p '{"spec":{"stopped":false}}'`);
  const proxy = await startLocalProxy({ kubeConfig, port: options.port, onlyUnder: `${path}/proxy` });
  try {
    await serveUntilStopped(`notebook ${namespace}/${name}`, `${proxy.url}${path}/proxy/`, options);
  } finally {
    await proxy.close();
  }
}
