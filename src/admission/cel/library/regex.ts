// kube's regex library (k8s.io/apiserver/pkg/cel/library/regex.go): find and findAll, on re2js, a linear-time RE2 port
// (Go's regexp semantics; never a backtracking RegExp on a tenant's pattern or string).
import { celFunc, celMethod, CelScalar, listType, type CelFunc } from '@bufbuild/cel';
import { RE2JS } from 're2js';

const { STRING, INT, BOOL } = CelScalar;

// Compiling dominates matching for the short strings policies test, and an expression tests one pattern on every
// element of a list: the last patterns compiled are kept (bounded, so tenant patterns cannot grow it).
const compiled = new Map<string, RE2JS>();
const keep = 64;

export function compileRegex(pattern: string): RE2JS {
  let regex = compiled.get(pattern);
  if (regex === undefined) {
    regex = RE2JS.compile(pattern);
    if (compiled.size >= keep) compiled.delete(compiled.keys().next().value!);
    compiled.set(pattern, regex);
  }
  return regex;
}

function compile(pattern: string): RE2JS {
  try {
    return compileRegex(pattern);
  } catch (error) {
    throw new Error(`Illegal regex: ${(error as Error).message}`);
  }
}

/** Go's regexp error for a pattern that does not compile, or undefined. */
export function regexError(pattern: string): string | undefined {
  try {
    compileRegex(pattern);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function findAll(text: string, pattern: string, limit: bigint): string[] {
  const matcher = compile(pattern).matcher(text);
  const found: string[] = [];
  while ((limit < 0n || BigInt(found.length) < limit) && matcher.find()) found.push(matcher.group() ?? '');
  return found;
}

export const regexLibrary: CelFunc[] = [
  // The standard library's global form, which @bufbuild/cel leaves out.
  celFunc('matches', [STRING, STRING], BOOL, (text, pattern) => compile(pattern).matcher(text).find()),
  celMethod('find', STRING, [STRING], STRING, function (pattern) {
    const matcher = compile(pattern).matcher(this);
    return matcher.find() ? (matcher.group() ?? '') : '';
  }),
  celMethod('findAll', STRING, [STRING], listType(STRING), function (pattern) {
    return findAll(this, pattern, -1n);
  }),
  celMethod('findAll', STRING, [STRING, INT], listType(STRING), function (pattern, limit) {
    return findAll(this, pattern, limit);
  }),
];
