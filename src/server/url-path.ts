// Percent-escapes in a request path that do not decode to UTF-8 (`%ff`). Go's server routes such a path with the
// raw bytes, and kube-apiserver writes those bytes into JSON as U+FFFD, so a GET of `…/notebooks/%ff` is a 404
// for the name "\ufffd" and a list in namespace `%ff` is empty. The router here cannot decode such a path at all;
// rewriting each undecodable segment to the U+FFFD it would reach kube as gives the same answers. Malformed
// escapes are left for the router to refuse (app.ts answers them as Go does, with a 400).

const decoder = new TextDecoder('utf-8', { fatal: false });

function decodableSegment(segment: string): string {
  // A malformed escape (`%zz`) is a 400 in Go's server before any routing, and stays one here.
  if (/%(?![0-9a-fA-F]{2})/.test(segment)) return segment;
  try {
    decodeURIComponent(segment);
    return segment;
  } catch {
    const bytes: number[] = [];
    for (let i = 0; i < segment.length; i++) {
      if (segment[i] === '%') {
        bytes.push(parseInt(segment.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        const character = String.fromCodePoint(segment.codePointAt(i)!);
        bytes.push(...Buffer.from(character, 'utf8'));
        i += character.length - 1;
      }
    }
    return encodeURIComponent(decoder.decode(Uint8Array.from(bytes)));
  }
}

/** The URL unchanged when its path decodes; otherwise with every undecodable segment made decodable. */
export function withValidUtf8Path(url: string): string {
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  if (!path.includes('%')) return url;
  try {
    decodeURIComponent(path);
    return url;
  } catch {
    return path.split('/').map(decodableSegment).join('/') + (queryAt < 0 ? '' : url.slice(queryAt));
  }
}
