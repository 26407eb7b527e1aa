// Bundles the dashboard (src/dashboard/) into static files the local proxy of `kubectl ai dashboard` serves:
// index.html, app.js (Preact and the app, minified) and app.css. Nothing is fetched at run time.
// `npm run build` runs it; the dashboard's browser test runs it too, so a clean clone's `npm test` has the bundle.
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const repo = fileURLToPath(new URL('..', import.meta.url));
const source = join(repo, 'src/dashboard');
/** Where the bundle goes: dist/dashboard, beside the compiled plugin that serves it. */
export const dashboardBundle = join(repo, 'dist/dashboard');

export async function buildDashboard(outdir = dashboardBundle): Promise<void> {
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: { app: join(source, 'main.tsx') },
    outdir,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'eof',
    logLevel: 'warning',
  });
  await build({ entryPoints: { app: join(source, 'style.css') }, outdir, bundle: true, minify: true, logLevel: 'warning' });
  await copyFile(join(source, 'index.html'), join(outdir, 'index.html'));
}

// `node --import tsx scripts/build-dashboard.ts [OUTDIR]`: the image builds put it beside their own dist/plugin.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await buildDashboard(process.argv[2] ?? dashboardBundle);
