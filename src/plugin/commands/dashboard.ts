// `kubectl ai dashboard`: the web UI of src/dashboard/ on 127.0.0.1, served by the plugin's local proxy, which also
// forwards the page's API calls to kube-apiserver with the user's own credentials, so the page shows what the user's
// RBAC lets them see; it serves until interrupted. Notebooks open on a second local proxy, another origin that
// forwards notebooks/proxy paths only: a notebook's pages are code its owner controls, and on the dashboard's origin
// they could use the whole API with the user's credentials.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UserKubeConfig } from '../kubeconfig.js';
import { startLocalProxy } from '../local-proxy.js';
import { serveUntilStopped, type ServingOptions } from './serving.js';

/** The bundle `npm run build` writes to dist/dashboard, beside the compiled plugin in dist/plugin. */
export const dashboardBundle = fileURLToPath(new URL('../../dashboard/', import.meta.url));

/** Any notebook's notebooks/proxy path: all that the notebooks' origin forwards. */
export const notebookProxyPaths = /^\/apis\/ai\.example\.io\/v1alpha1\/namespaces\/[^/]+\/notebooks\/[^/]+\/proxy(?:\/|$)/;

export async function serveDashboard({ kubeConfig, namespace }: UserKubeConfig, options: ServingOptions): Promise<void> {
  // Run from src/ (tsx), this folder holds the page's sources, not the bundle.
  if (!existsSync(join(dashboardBundle, 'app.js'))) throw new Error(`the dashboard is not built (no app.js in ${dashboardBundle}): run npm run build`);
  const notebooks = await startLocalProxy({ kubeConfig, onlyUnder: notebookProxyPaths });
  const proxy = await startLocalProxy({ kubeConfig, port: options.port, staticRoot: dashboardBundle }).catch(async (error: unknown) => {
    await notebooks.close();
    throw error;
  });
  try {
    // The page links notebooks to the port it is given (on 127.0.0.1 only: see src/dashboard/main.tsx).
    const url = `${proxy.url}/?namespace=${encodeURIComponent(namespace)}&notebooks=${notebooks.port}`;
    await serveUntilStopped('the dashboard', url, options);
  } finally {
    await Promise.all([proxy.close(), notebooks.close()]);
  }
}
