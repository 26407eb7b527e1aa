// metav1.Time on the wire: RFC 3339 with whole seconds, as kube-apiserver writes timestamps.
export function toMetaTime(value: Date | string | number = new Date()): string {
  return new Date(value).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
