// JSON request bodies read as kube-apiserver's decoder reads them (Go's encoding/json as forked by
// sigs.k8s.io/json): at most 10,000 levels of nesting, and duplicate object members found in one linear pass
// so that fieldValidation can refuse them (Strict) or warn about them (Warn). V8's JSON.parse builds the value:
// it is iterative, linear, and creates "__proto__" as an own member.

/** Go's encoding/json maxNestingDepth. */
export const maxJsonDepth = 10_000;
/** sigs.k8s.io/json stops collecting strict decoding errors after this many. */
const maxStrictErrors = 100;

export interface DuplicateField {
  /** The member's path as the strict decoder names it: "metadata.labels.a", "spec.items[0].name". */
  path: string;
  /** 1-based line of the repeated key, for YAML's wording of the same error. */
  line: number;
  key: string;
}

export interface JsonBody {
  value: unknown;
  duplicates: DuplicateField[];
}

/** A body the decoder refuses; `message` is worded as Go's encoding/json words it. */
export class JsonBodyError extends Error {}

declare module 'fastify' {
  interface FastifyRequest {
    /** Object members the JSON body repeats, for fieldValidation. */
    duplicateFields?: DuplicateField[];
  }
}

/**
 * The message of kube-apiserver's 400 for a JSON body its decoder refuses, which depends on where the body was
 * going: a patch, or an object of `kind` (create and update quote the body's first 30 bytes).
 */
export function jsonBodyRefusal(request: { method: string; contentType?: string; fieldValidation?: unknown; kind?: string }, text: string, why: string): string {
  const type = (request.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (request.method === 'PATCH' && type === 'application/merge-patch+json') {
    return request.fieldValidation === 'Ignore' ? 'Invalid JSON Patch' : `error decoding patch: ${why}`;
  }
  if (request.method === 'PATCH' && type === 'application/json-patch+json') {
    return request.fieldValidation === 'Ignore' ? why : `error decoding patch: ${why}`;
  }
  const reason = `couldn't get version/kind; json parse error: ${why}`;
  if ((request.method !== 'POST' && request.method !== 'PUT') || !request.kind) return reason;
  const bytes = Buffer.from(text);
  const summary = bytes.length > 30 ? `${bytes.subarray(0, 30).toString()} ...` : text;
  return `the object provided is unrecognized (must be of type ${request.kind}): ${reason} (${summary})`;
}

export function parseJsonBody(text: string): JsonBody {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new JsonBodyError((error as Error).message);
  }
  return { value, duplicates: scanJson(text) };
}

interface Frame {
  object: boolean;
  /** Keys seen so far in an object, made at its first key. */
  keys: Set<string> | undefined;
  /** The member being read (object) or the element index (array), for paths. */
  key: string;
  index: number;
  expectKey: boolean;
}

/**
 * One pass over text that JSON.parse accepted: the nesting limit and repeated members. Linear in the text:
 * each character is looked at once, each key goes into one Set.
 */
function scanJson(text: string): DuplicateField[] {
  const duplicates: DuplicateField[] = [];
  const seen = new Set<string>();
  const stack: Frame[] = [];
  let line = 1;
  let lineCountedTo = 0;
  const lineAt = (offset: number): number => {
    for (let i = text.indexOf('\n', lineCountedTo); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
    lineCountedTo = offset;
    return line;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= maxJsonDepth) throw new JsonBodyError(`invalid character '${text[i]}' exceeded max depth`);
      stack.push({ object: c === 0x7b, keys: undefined, key: '', index: 0, expectKey: c === 0x7b });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1]!;
      if (top.object) top.expectKey = true;
      else top.index++;
    } else if (c === 0x22 /* " */) {
      let end = text.indexOf('"', i + 1);
      while (isEscaped(text, end)) end = text.indexOf('"', end + 1);
      const top = stack[stack.length - 1];
      if (top?.object && top.expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        top.expectKey = false;
        top.key = key;
        top.keys ??= new Set();
        if (top.keys.has(key)) {
          const path = pathOf(stack, key);
          if (duplicates.length < maxStrictErrors && !seen.has(path)) {
            seen.add(path);
            duplicates.push({ path, key, line: lineAt(i) });
          }
        } else top.keys.add(key);
      }
      i = end;
    }
  }
  return duplicates;
}

function isEscaped(text: string, quote: number): boolean {
  let backslashes = 0;
  for (let j = quote - 1; text.charCodeAt(j) === 0x5c; j--) backslashes++;
  return backslashes % 2 === 1;
}

/** The strict decoder's field path: members joined by ".", elements as "[i]". */
function pathOf(stack: Frame[], key: string): string {
  let path = '';
  for (let i = 0; i < stack.length - 1; i++) {
    const frame = stack[i]!;
    if (frame.object) path += path ? `.${frame.key}` : frame.key;
    else path += `[${frame.index}]`;
  }
  return path ? `${path}.${key}` : key;
}
