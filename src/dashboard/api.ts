// The API as the page reaches it: on its own origin, through the local proxy of `kubectl ai dashboard`, which adds
// the user's credentials. Names go into paths encoded, so an object's name can only ever name an object.
export type Resource = 'notebooks' | 'jobs' | 'datasets';

const group = '/apis/ai.example.io/v1alpha1';

export function collectionPath(namespace: string, resource: Resource): string {
  return `${group}/namespaces/${encodeURIComponent(namespace)}/${resource}`;
}

export function objectPath(namespace: string, resource: Resource, name: string): string {
  return `${collectionPath(namespace, resource)}/${encodeURIComponent(name)}`;
}

/** A refusal, with kube-apiserver's own message when it sent a Status (e.g. RBAC's "cannot list resource"). */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const status = JSON.parse(text) as { kind?: unknown; message?: unknown };
    if (status.kind === 'Status' && typeof status.message === 'string') return new ApiError(res.status, status.message);
  } catch {
    // Not a Status: the proxy's or the network's own answer, shown by its code.
  }
  return new ApiError(res.status, `${res.status} ${res.statusText}`.trim());
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' }, ...(signal ? { signal } : {}) });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

/**
 * The lines of a streamed body as they arrive (a watch's events, a followed log), each without its newline; a line
 * longer than `maxLine` characters is cut there, so a writer that never ends its line cannot fill the page's memory.
 */
export async function* lines(body: ReadableStream<Uint8Array>, maxLine = Infinity): AsyncGenerator<string[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let rest = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const parts = (rest + decoder.decode(value, { stream: true })).split('\n');
      rest = parts.pop() ?? '';
      if (rest.length > maxLine) {
        parts.push(rest.slice(0, maxLine));
        rest = '';
      }
      if (parts.length > 0) yield parts;
    }
    if (rest) yield [rest];
  } finally {
    reader.releaseLock();
  }
}
