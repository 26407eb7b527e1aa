// YAML apply configurations read as sigs.k8s.io/yaml reads them (go-yaml v2, YAML 1.1): the first document,
// go-yaml's alias budget, its self-reference and unknown-anchor errors, repeated keys (the last wins, and
// strict decoding names each), timestamps and sexagesimals left as strings, infinities and NaN refused. The
// `yaml` library does the parsing; it is slow (a second for a 1.4 MB mapping, several for a long sequence) and
// recursive, so large bodies are read on a worker thread (yaml-worker.ts) and come back as JSON text.
import { Composer, isAlias, isMap, isPair, isScalar, isSeq, Lexer, LineCounter, Parser, type Alias, type Document, type Node as YamlNode, type Tags } from 'yaml';

export interface RepeatedKey {
  key: string;
  /** 1-based line of the repetition, as go-yaml reports it. */
  line: number;
}

/** What reading a YAML body gives: its JSON, or go-yaml's error (after "yaml: " or "json: "). */
export type YamlOutcome = { json: string; repeated: RepeatedKey[] } | { error: string };

// go-yaml v2 resolves neither timestamps nor base-60 numbers when decoding into interface{}: they stay strings.
const goTags = (tags: Tags): Tags =>
  tags.filter((tag) => typeof tag === 'string' || !(tag.tag === 'tag:yaml.org,2002:timestamp' || ('format' in tag && tag.format === 'TIME')));

class YamlError extends Error {}

export function readYaml(text: string): YamlOutcome {
  try {
    const lines = new LineCounter();
    const parser = new Parser(lines.addNewLine);
    lines.addNewLine(0);
    const composer = new Composer({ version: '1.1', uniqueKeys: false, customTags: goTags });
    let document: Document.Parsed | undefined;
    for (const lexeme of new Lexer().lex(text)) {
      for (const token of parser.next(lexeme)) for (const composed of composer.next(token)) document ??= composed;
    }
    for (const token of parser.end()) for (const composed of composer.next(token)) document ??= composed;
    for (const composed of composer.end()) document ??= composed;
    if (!document) return { json: 'null', repeated: [] };
    const error = document.errors[0];
    if (error) return { error: `yaml: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:$/, '')}` };
    const repeated = checkYaml(document.contents, (alias) => alias.resolve(document), lines);
    const value: unknown = document.toJS({ maxAliasCount: -1 });
    return { json: JSON.stringify(value, goValue), repeated };
  } catch (error) {
    if (error instanceof YamlError) return { error: `yaml: ${error.message}` };
    if (error instanceof GoJsonError) return { error: error.message };
    // The library's own recursion gives up on deep nesting (near 800 levels); go-yaml reads up to 10,000.
    return { error: `yaml: ${(error as Error).message.split('\n')[0]!}` };
  }
}

class GoJsonError extends Error {}

/** JSON as Go's encoding/json writes what go-yaml decoded: binary as its bytes, no infinities or NaN. */
function goValue(this: Record<string, unknown>, key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new GoJsonError(`json: unsupported value: ${Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf'}`);
  }
  // The holder's own value: a Buffer has already become {type, data} by its toJSON.
  const raw = this[key];
  if (raw instanceof Uint8Array) return Buffer.from(raw).toString();
  return value;
}

// go-yaml's alias budget (sigs.k8s.io/yaml/goyaml.v2 decode.go): past 100 aliased nodes and 1,000 decoded
// ones, the share of nodes that come from alias expansion may be 99% up to 400,000 decoded nodes, falling
// linearly to 10% at 4,000,000.
const aliasRatioLow = 400_000;
const aliasRatioHigh = 4_000_000;

function allowedAliasRatio(decoded: number): number {
  if (decoded <= aliasRatioLow) return 0.99;
  if (decoded >= aliasRatioHigh) return 0.1;
  return 0.99 - 0.89 * ((decoded - aliasRatioLow) / (aliasRatioHigh - aliasRatioLow));
}

/**
 * One walk of the YAML tree, without expanding an alias: repeated keys per mapping (go-yaml's strict error),
 * an alias inside its own anchor, and go-yaml's alias budget counted from each node's expanded size.
 */
function checkYaml(root: unknown, resolve: (alias: Alias) => unknown, lines: LineCounter): RepeatedKey[] {
  const repeated: RepeatedKey[] = [];
  const expanded = new Map<unknown, number>();
  const open = new Set<unknown>();
  let decoded = 0;
  let aliased = 0;
  const count = (nodes: number, fromAliases: number): void => {
    decoded += nodes;
    aliased += fromAliases;
    if (aliased > 100 && decoded > 1000 && aliased / decoded > allowedAliasRatio(decoded)) throw new YamlError('document contains excessive aliasing');
  };
  const stack: Array<[node: unknown, leaving: boolean]> = [[root, false]];
  while (stack.length > 0) {
    const [node, leaving] = stack.pop()!;
    if (node === null || node === undefined) continue;
    if (isAlias(node)) {
      const target = resolve(node);
      if (target === undefined) throw new YamlError(`unknown anchor '${node.source}' referenced`);
      if (open.has(target)) throw new YamlError(`anchor '${node.source}' value contains itself`);
      const size = expanded.get(target) ?? 1;
      expanded.set(node, 1 + size);
      count(1, 0);
      count(size, size);
      continue;
    }
    const children: unknown[] = [];
    if (isMap(node)) for (const pair of node.items) children.push(pair.key, pair.value);
    else if (isSeq(node)) for (const item of node.items) children.push(item);
    else if (isPair(node)) children.push(node.key, node.value);
    if (!leaving) {
      open.add(node);
      count(1, 0);
      stack.push([node, true]);
      for (let i = children.length - 1; i >= 0; i--) stack.push([children[i], false]);
      if (isMap(node)) repeatedKeys(node.items as Array<{ key: unknown }>, lines, repeated);
      continue;
    }
    open.delete(node);
    let size = 1;
    for (const child of children) size += child === null || child === undefined ? 0 : (expanded.get(child) ?? 1);
    expanded.set(node, size);
  }
  return repeated;
}

/** Appends a mapping's repeated keys; go-yaml's strict decoding reports at most 100 errors. */
function repeatedKeys(pairs: Array<{ key: unknown }>, lines: LineCounter, out: RepeatedKey[]): void {
  const seen = new Set<string>();
  for (const { key } of pairs) {
    // go-yaml cannot use a mapping or sequence as a key of the map it decodes into.
    if (isMap(key) || isSeq(key)) throw new YamlError(`invalid map key: ${String(key)}`);
    if (!isScalar(key)) continue;
    const id = `${typeof key.value}:${String(key.value)}`;
    if (!seen.has(id)) seen.add(id);
    else if (out.length < 100) out.push({ key: String(key.value), line: lines.linePos((key as YamlNode).range?.[0] ?? 0).line });
  }
}
