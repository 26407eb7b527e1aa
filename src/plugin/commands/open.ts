// `kubectl ai open <notebook>`: the notebook's UI in a browser, through a local proxy with the user's credentials
// and kube-apiserver's notebooks/proxy; it serves until interrupted.
import type { Notebook } from '../../api/v1alpha1/types.js';
import { Transport } from '../../kube/transport.js';
import { openBrowser } from '../browser.js';
import type { UserKubeConfig } from '../kubeconfig.js';
import { startLocalProxy } from '../local-proxy.js';
import { objectPath } from '../paths.js';

export interface OpenOptions {
  port: number;
  browser: boolean;
  /** Resolves when the proxy should stop (Ctrl-C). */
  until: Promise<void>;
  out: (line: string) => void;
  err: (line: string) => void;
}

export async function openNotebook({ kubeConfig, namespace }: UserKubeConfig, name: string, options: OpenOptions): Promise<void> {
  // Read first: a notebook that does not exist, or that the user may not see, fails here with kube's own message.
  const path = objectPath('notebooks', namespace, name);
  const notebook = await new Transport(kubeConfig).json<Notebook>({ method: 'GET', path });
  if (notebook.spec?.stopped) options.err(`notebook "${name}" is stopped: start it with kubectl patch notebook ${name} -n ${namespace} --type=merge -p '{"spec":{"stopped":false}}'`);
  const proxy = await startLocalProxy({ kubeConfig, port: options.port, onlyUnder: `${path}/proxy` });
  try {
    const url = `${proxy.url}${path}/proxy/`;
    options.out(`Serving notebook ${namespace}/${name} on ${url} (Ctrl-C to stop)`);
    if (options.browser) await openBrowser(url).catch((error: unknown) => options.err(`could not open a browser (${String(error)}): open the URL above`));
    await options.until;
  } finally {
    await proxy.close();
  }
}
