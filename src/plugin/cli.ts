// The commands of `kubectl ai`, kubectl's plugin for ai.example.io. kubectl runs the first `kubectl-ai` on PATH with
// the arguments after `ai` and passes none of its own flags, so the kubeconfig flags are the plugin's, taken before
// or after the command as kubectl takes them.
import type { Writable } from 'node:stream';
import { Command, InvalidArgumentError } from 'commander';
import { serveDashboard } from './commands/dashboard.js';
import { jobLogs } from './commands/logs.js';
import { openNotebook } from './commands/open.js';
import { status } from './commands/status.js';
import { loadUserKubeConfig, type KubeFlags } from './kubeconfig.js';

export interface PluginIo {
  stdout: Writable;
  stderr: Writable;
  /**
   * Resolves when a command that serves until interrupted should stop; called by such a command only, as catching
   * Ctrl-C anywhere else would keep `logs -f` from ending on it.
   */
  interrupted(): Promise<void>;
}

function nonNegativeInteger(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a non-negative integer');
  return Number(value);
}

function port(value: string): number {
  const n = nonNegativeInteger(value);
  if (n > 65535) throw new InvalidArgumentError('must be a port number (0 for any free one)');
  return n;
}

export function pluginProgram(io: PluginIo): Command {
  const program = new Command('kubectl ai')
    .description('Notebooks, jobs and datasets of ai.example.io: open a notebook, follow a job, see what runs')
    .option('--kubeconfig <file>', 'path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)')
    .option('--context <name>', 'the kubeconfig context to use')
    .option('-n, --namespace <namespace>', "the namespace (default: the context's)")
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) });
  const user = (command: Command) => loadUserKubeConfig(command.optsWithGlobals<KubeFlags>());

  program
    .command('open')
    .description("serve a notebook's UI on 127.0.0.1 through kube-apiserver with your credentials, until Ctrl-C")
    .argument('<notebook>', 'the notebook')
    .option('--port <port>', 'the local port (default: any free one)', port, 0)
    .option('--browser', 'open the URL in your browser', false)
    .action(async (name: string, options: { port: number; browser: boolean }, command: Command) => {
      await openNotebook(user(command), name, {
        ...options,
        until: io.interrupted(),
        out: (line) => void io.stdout.write(`${line}\n`),
        err: (line) => void io.stderr.write(`${line}\n`),
      });
    });

  program
    .command('logs')
    .description("a job's logs, every rank merged, each line prefixed with its rank")
    .argument('<job>', 'the job')
    .option('-f, --follow', 'stream new lines, including those of ranks that start later', false)
    .option('--rank <rank>', 'only this rank', nonNegativeInteger)
    .option('--tail <lines>', 'the last lines of each rank', nonNegativeInteger)
    .action(async (name: string, options: { follow: boolean; rank?: number; tail?: number }, command: Command) => {
      await jobLogs(user(command), name, options, io.stdout);
    });

  program
    .command('status')
    .description("your jobs (phase, replicas, queue, progress) and notebooks (state, idle time)")
    .option('-A, --all-namespaces', 'every namespace you may list', false)
    .action(async (options: { allNamespaces: boolean }, command: Command) => {
      io.stdout.write(await status(user(command), options.allNamespaces));
    });

  program
    .command('dashboard')
    .description('serve a web UI of your notebooks, jobs and datasets on 127.0.0.1, live, with your credentials, until Ctrl-C')
    .option('--port <port>', 'the local port (default: any free one)', port, 0)
    .option('--browser', 'open the URL in your browser', false)
    .action(async (options: { port: number; browser: boolean }, command: Command) => {
      await serveDashboard(user(command), {
        ...options,
        until: io.interrupted(),
        out: (line) => void io.stdout.write(`${line}\n`),
        err: (line) => void io.stderr.write(`${line}\n`),
      });
    });

  return program;
}
