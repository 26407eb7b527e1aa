// The API paths the commands use. Names and namespaces come from the command line: encoded, so a name can only
// ever name an object.
const group = '/apis/ai.example.io/v1alpha1';

/** A collection of a namespace, or of all namespaces when `namespace` is undefined. */
export function collectionPath(resource: 'jobs' | 'notebooks', namespace: string | undefined): string {
  return namespace === undefined ? `${group}/${resource}` : `${group}/namespaces/${encodeURIComponent(namespace)}/${resource}`;
}

export function objectPath(resource: 'jobs' | 'notebooks', namespace: string, name: string): string {
  return `${collectionPath(resource, namespace)}/${encodeURIComponent(name)}`;
}
