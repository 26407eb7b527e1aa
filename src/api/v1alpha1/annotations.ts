// Annotations this server writes on its own objects.

/** When traffic last went through a notebook's proxy subresource (RFC 3339); counts as activity for culling. */
export const lastActivityAnnotation = 'ai.example.io/last-activity';

/** The path a notebook's UI is served under, through kube-apiserver: Jupyter's base URL (NB_PREFIX). */
export function notebookProxyPath(namespace: string, name: string): string {
  return `/apis/ai.example.io/v1alpha1/namespaces/${namespace}/notebooks/${name}/proxy`;
}
