// How the plugin reports a failure: as kubectl does, one line on stderr and a non-zero exit code. A refusal from
// the API shows its Status (`Error from server (NotFound): jobs.ai.example.io "x" not found`), a server out of
// reach kubectl's "Unable to connect to the server", a kubeconfig that does not fit the flags its "Error in configuration".
import { StatusError } from '../kube/status-error.js';
import { ConfigurationError } from './kubeconfig.js';

export function errorLine(error: unknown): string {
  if (error instanceof StatusError) {
    if (error.code === 0) return `Unable to connect to the server: ${error.message}`;
    // kubectl leaves the parentheses out for reason Unknown (an answer that was not a Status).
    return error.reason && error.reason !== 'Unknown' ? `Error from server (${error.reason}): ${error.message}` : `Error from server: ${error.message}`;
  }
  if (error instanceof ConfigurationError) return `Error in configuration: ${error.message}`;
  return `error: ${error instanceof Error ? error.message : String(error)}`;
}
