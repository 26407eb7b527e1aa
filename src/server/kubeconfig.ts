// Writes a kubeconfig that `kubectl --kubeconfig PATH` uses as is: this server, its CA, and a bearer token.
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export function writeKubeconfig(path: string, server: string, caPem: string, token: string): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'ai-apiserver', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'ai-apiserver-user', user: { token } }],
    contexts: [{ name: 'ai-apiserver', context: { cluster: 'ai-apiserver', user: 'ai-apiserver-user', namespace: 'default' } }],
    'current-context': 'ai-apiserver',
  };
  writeFileSync(path, stringify(config), { mode: 0o600 });
}
