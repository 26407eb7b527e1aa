// Worker thread for large YAML apply bodies: the `yaml` library holds its thread for seconds on a 3 MB body,
// which must not be the event loop every request shares.
import { parentPort } from 'node:worker_threads';
import { readYaml } from './yaml-apply.js';

parentPort!.on('message', ({ id, text }: { id: number; text: string }) => parentPort!.postMessage({ id, outcome: readYaml(text) }));
