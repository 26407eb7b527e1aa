// Headless Chromium for the suites that test a page as a user sees it: Debian's chromium package (.ci/run installs
// it), driven by playwright-core over the DevTools protocol; playwright-core downloads no browser of its own.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** The browser binary: AI_APISERVER_CHROMIUM, else Debian's. */
export function chromiumPath(): string {
  const path = process.env.AI_APISERVER_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path)) throw new Error(`${path} is missing: apt-get install chromium (or set AI_APISERVER_CHROMIUM to a Chromium binary)`);
  return path;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true });
}
