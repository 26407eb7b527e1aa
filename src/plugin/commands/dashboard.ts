// `kubectl ai dashboard`: the web UI of src/dashboard/ on 127.0.0.1, served by the plugin's local proxy, which also
// forwards the page's API calls to kube-apiserver with the user's own credentials, so the page shows what the user's
// RBAC lets them see; it serves until interrupted. Notebooks open on a second local proxy, another origin that
// forwards notebooks/proxy paths only: a notebook's pages are code its owner controls, and on the dashboard's origin
// they could use the whole API with the user's credentials.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBrowser } from '../browser.js';
import type { UserKubeConfig } from '../kubeconfig.js';
import { startLocalProxy } from '../local-proxy.js';

/** The bundle `npm run build` writes to dist/dashboard, beside the compiled plugin in dist/plugin. */
export const dashboardBundle = fileURLToPath(new URL('../../dashboard/', import.meta.url));

/** Any notebook's notebooks/proxy path: all that the notebooks' origin forwards. */
export const notebookProxyPaths = /^\/apis\/ai\.example\.io\/v1alpha1\/namespaces\/[^/]+\/notebooks\/[^/]+\/proxy(?:\/|$)/;

export interface DashboardOptions {
  port: number;
  browser: boolean;
  /** Resolves when the dashboard should stop (Ctrl-C). */
  until: Promise<void>;
  out: (line: string) => void;
  err: (line: string) => void;
}

export async function serveDashboard({ kubeConfig, namespace }: UserKubeConfig, options: DashboardOptions): Promise<void> {
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
    options.out(`Serving the dashboard on ${url} (Ctrl-C to stop)`);
    if (options.browser) await openBrowser(url).catch((error: unknown) => options.err(`could not open a browser (${String(error)}): open the URL above`));
    await options.until;
  } finally {
    await Promise.all([proxy.close(), notebooks.close()]);
  }
}
