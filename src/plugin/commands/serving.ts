// What the commands that serve on 127.0.0.1 until Ctrl-C (`open`, `dashboard`) share: their options, and how they
// tell the user where to look.
import { openBrowser } from '../browser.js';

export interface ServingOptions {
  port: number;
  browser: boolean;
  /** Resolves when serving should stop (Ctrl-C). */
  until: Promise<void>;
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Prints where `what` is served, opens it in a browser when asked, and waits until the user stops it. */
export async function serveUntilStopped(what: string, url: string, options: ServingOptions): Promise<void> {
  options.out(`Serving ${what} on ${url} (Ctrl-C to stop)`);
  if (options.browser) await openBrowser(url).catch((error: unknown) => options.err(`could not open a browser (${String(error)}): open the URL above`));
  await options.until;
}
