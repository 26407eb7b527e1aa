#!/usr/bin/env node
// kubectl-ai: the executable kubectl finds on PATH for `kubectl ai …` (the package's bin, and /usr/local/bin in the
// image). Failures end as kubectl's do: a line on stderr and exit code 1.
import { pluginProgram } from './cli.js';
import { errorLine } from './errors.js';

const interrupted = (): Promise<void> =>
  new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
// `kubectl ai logs job | head`: the reader leaving is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
});

try {
  await pluginProgram({ stdout: process.stdout, stderr: process.stderr, interrupted }).parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`${errorLine(error)}\n`);
  process.exitCode = 1;
}
