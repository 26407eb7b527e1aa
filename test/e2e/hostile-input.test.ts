// Hostile request bodies through kube-apiserver, each sent once to this server's resources and once to CRDs
// generated from the same schemas (group golden.example.io): the status code and reason must be the same, and
// the message and warnings too where a case says so. Add a case by adding a row to `cases`.
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import type { LocalCluster } from '../support/cluster.js';
import { testBed } from '../support/test-bed.js';

const ours = 'ai.example.io';
const golden = 'golden.example.io';
const ns = 'hostile';
let cluster: LocalCluster;

const bed = testBed({
  name: 'hostile-input',
  serverArgs: ['--no-controllers'],
  namespaces: [ns],
  crdGroup: golden,
});
beforeEach(async () => void (cluster = await bed.ready()));
after(() => bed.stop());

const nested = (depth: number, leaf = '1'): string => '['.repeat(depth) + leaf + ']'.repeat(depth);
const deepObject = (depth: number): string => '{"f:a":'.repeat(depth) + '{}' + '}'.repeat(depth);
const notebookJson = (name: string, extra = '', labels = '{"app":"a"}'): string =>
  `{"apiVersion":"GROUP/v1alpha1","kind":"Notebook","metadata":{"name":"${name}","labels":${labels}},` +
  `"spec":{"template":{"spec":{"containers":[{"name":"main","image":"jupyter:1"}]}}${extra}}}`;
const copies = (n: number): string =>
  JSON.stringify(Array.from({ length: n }, (_, i) => ({ op: 'copy', from: '/spec', path: `/spec/y${i}` })));
const aliasBomb = (levels: number): string => {
  let yaml = 'apiVersion: GROUP/v1alpha1\nkind: Notebook\nmetadata:\n  name: target\nspec:\n  l0: &l0 [x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < levels; i++) yaml += `  l${i}: &l${i} [${Array(9).fill(`*l${i - 1}`).join(', ')}]\n`;
  return yaml;
};
const manyKeys = (n: number): string => {
  const lines = ['apiVersion: GROUP/v1alpha1', 'kind: Notebook', 'metadata:', '  name: target', 'spec:', '  many:'];
  for (let i = 0; i < n; i++) lines.push(`    k${i}: v`);
  return `${lines.join('\n')}\n`;
};

interface Case {
  name: string;
  method: 'POST' | 'PATCH' | 'PUT';
  /** Created fresh (as `target`) in both groups before the request, for PATCH and PUT. */
  existing?: boolean;
  contentType: string;
  query?: string;
  body: string;
  /** Also compare these parts of the answer, beyond code and reason. */
  compare?: Array<'message' | 'warnings' | 'labels'>;
  /** Where this server answers otherwise on purpose: kube's status code (checked, so a change shows) and ours. */
  deviation?: { kube: number; ours: Answer };
}

const apply = 'application/apply-patch+yaml';
const json = 'application/json';
const merge = 'application/merge-patch+json';
const jsonPatch = 'application/json-patch+json';

const cases: Case[] = [
  // kube's message quotes the body's first 30 bytes: these hold no group name.
  { name: 'a create nested past 10,000 levels', method: 'POST', contentType: json, body: `{"kind":"Notebook","spec":{"x":${nested(10_000)}},"apiVersion":"GROUP/v1alpha1","metadata":{"name":"deep"}}`, compare: ['message'] },
  { name: 'a merge patch nested past 10,000 levels', method: 'PATCH', existing: true, contentType: merge, body: `{"spec":{"x":${nested(10_000)}}}`, compare: ['message'] },
  { name: 'a JSON patch nested past 10,000 levels', method: 'PATCH', existing: true, contentType: jsonPatch, body: `[{"op":"add","path":"/spec/x","value":${nested(10_000)}}]`, compare: ['message'] },
  { name: 'an update nested past 10,000 levels', method: 'PUT', existing: true, contentType: json, body: `{"kind":"Notebook","spec":{"x":${nested(10_000)}},"apiVersion":"GROUP/v1alpha1","metadata":{"name":"target"}}`, compare: ['message'] },
  { name: 'a create nested 9,000 levels in an unknown field', method: 'POST', contentType: json, body: notebookJson('deep-pruned', `,"x":${nested(9_000)}`), compare: ['warnings'] },
  { name: 'a create nesting 990 objects where the schema keeps unknown fields', method: 'POST', contentType: json, body: notebookJson('deep-kept-1k', '', '{"app":"a"}').replace('"template":{', `"template":{"metadata":{"managedFields":[{"manager":"m","operation":"Update","fieldsType":"FieldsV1","fieldsV1":${deepObject(990)}}]},`) },
  // kube keeps what its decoder read (10,000 levels); this server keeps 1,000 (json-tree.ts maxKeptDepth says why).
  { name: 'a create nesting 2,000 objects where the schema keeps unknown fields', deviation: { kube: 201, ours: { code: 400, reason: 'BadRequest', message: 'exceeded max depth of 1000' } }, compare: ['message'], method: 'POST', contentType: json, body: notebookJson('deep-kept-2k', '', '{"app":"a"}').replace('"template":{', `"template":{"metadata":{"managedFields":[{"manager":"m","operation":"Update","fieldsType":"FieldsV1","fieldsV1":${deepObject(2_000)}}]},`) },
  { name: 'a create nesting 9,990 objects where the schema keeps unknown fields', deviation: { kube: 201, ours: { code: 400, reason: 'BadRequest', message: 'exceeded max depth of 1000' } }, compare: ['message'], method: 'POST', contentType: json, body: notebookJson('deep-kept-10k', '', '{"app":"a"}').replace('"template":{', `"template":{"metadata":{"managedFields":[{"manager":"m","operation":"Update","fieldsType":"FieldsV1","fieldsV1":${deepObject(9_990)}}]},`) },
  { name: 'an apply nesting 2,000 objects where the schema keeps unknown fields', existing: true, deviation: { kube: 200, ours: { code: 400, reason: 'BadRequest', message: 'exceeded max depth of 1000' } }, compare: ['message'], method: 'PATCH', contentType: apply, body: notebookJson('target', '', '{"app":"a"}').replace('"template":{', `"template":{"metadata":{"managedFields":[{"manager":"m","operation":"Update","fieldsType":"FieldsV1","fieldsV1":${deepObject(2_000)}}]},`) },
  { name: 'a create repeating a label under Strict', method: 'POST', query: 'fieldValidation=Strict', contentType: json, body: notebookJson('dup-strict', '', '{"a":"1","b":"2","a":"3"}'), compare: ['message'] },
  { name: 'a create repeating a label under Warn', method: 'POST', contentType: json, body: notebookJson('dup-warn', '', '{"a":"1","a":"3"}'), compare: ['warnings', 'labels'] },
  // kube's message holds the whole patched object, uid and timestamps included: code and reason only.
  { name: 'a merge patch repeating a label under Strict', method: 'PATCH', existing: true, query: 'fieldValidation=Strict', contentType: merge, body: '{"metadata":{"labels":{"a":"1","a":"2"}}}' },
  { name: 'a JSON patch repeating a member under Strict', method: 'PATCH', existing: true, query: 'fieldValidation=Strict', contentType: jsonPatch, body: '[{"op":"add","path":"/metadata/labels/b","path":"/metadata/labels/c","value":"x"}]' },
  { name: 'a merge patch repeating a label under Warn', method: 'PATCH', existing: true, contentType: merge, body: '{"metadata":{"labels":{"a":"1","a":"2"}}}', compare: ['warnings', 'labels'] },
  // Warnings quote user input: kube drops a text with control characters and sends UTF-8 and quotes as they are.
  { name: 'a create with unknown fields named with quotes, UTF-8 and control characters', method: 'POST', contentType: json, body: notebookJson('warn-chars', ',"é\\"x☃":1,"ctl\\u0001":2,"back\\\\slash":3'), compare: ['warnings'] },
  { name: 'a merge patch of labels named like prototype members', method: 'PATCH', existing: true, contentType: merge, body: '{"metadata":{"labels":{"constructor":"yes","toString":"x","hasOwnProperty":"h","team":"a"}}}', compare: ['labels'] },
  { name: 'a merge patch of a label named __proto__', method: 'PATCH', existing: true, contentType: merge, body: '{"metadata":{"labels":{"__proto__":"p"}}}', compare: ['message'] },
  { name: 'a merge patch removing labels named like prototype members', method: 'PATCH', existing: true, contentType: merge, body: '{"metadata":{"labels":{"constructor":null,"valueOf":null}}}', compare: ['labels'] },
  { name: 'a merge patch that is an array', method: 'PATCH', existing: true, contentType: merge, body: '[1]', compare: ['message'] },
  { name: 'a merge patch that is null', method: 'PATCH', existing: true, contentType: merge, body: 'null', compare: ['message'] },
  { name: 'a JSON patch of 26 doubling copies', method: 'PATCH', existing: true, contentType: jsonPatch, body: copies(26), compare: ['message'] },
  { name: 'a JSON patch of 10,001 operations', method: 'PATCH', existing: true, contentType: jsonPatch, body: JSON.stringify(Array(10_001).fill({ op: 'test', path: '/kind', value: 'Notebook' })), compare: ['message'] },
  { name: 'a JSON patch moving a node into its own child', method: 'PATCH', existing: true, contentType: jsonPatch, body: '[{"op":"move","from":"/spec","path":"/spec/template/x"}]', compare: ['message'] },
  { name: 'a JSON patch with a negative index', method: 'PATCH', existing: true, contentType: jsonPatch, body: '[{"op":"add","path":"/spec/template/spec/containers/-1","value":{"name":"b","image":"b:1"}}]' },
  { name: 'a JSON patch removing an absent prototype-named label', method: 'PATCH', existing: true, contentType: jsonPatch, body: '[{"op":"remove","path":"/metadata/labels/hasOwnProperty"}]', compare: ['message'] },
  { name: 'a JSON patch adding prototype-named labels', method: 'PATCH', existing: true, contentType: jsonPatch, body: '[{"op":"add","path":"/metadata/labels/constructor","value":"yes"},{"op":"add","path":"/metadata/labels/valueOf","value":"p"}]', compare: ['labels'] },
  { name: 'a JSON patch with an unknown operation field under Warn', method: 'PATCH', existing: true, contentType: jsonPatch, body: '[{"op":"add","path":"/metadata/labels/b","value":"x","extra":1}]', compare: ['warnings', 'labels'] },
  { name: 'a JSON patch with an unknown operation field under Strict', method: 'PATCH', existing: true, query: 'fieldValidation=Strict', contentType: jsonPatch, body: '[{"op":"add","path":"/metadata/labels/b","value":"x","Op":"remove"}]' },
  { name: 'a JSON patch whose op is a number', method: 'PATCH', existing: true, contentType: jsonPatch, body: '[{"op":5,"path":"/metadata/labels/b"}]', compare: ['message'] },
  { name: 'a JSON patch that is an object', method: 'PATCH', existing: true, contentType: jsonPatch, body: '{"op":"add"}', compare: ['message'] },
  { name: 'an apply with a self-referencing alias', method: 'PATCH', existing: true, contentType: apply, body: 'apiVersion: GROUP/v1alpha1\nkind: Notebook\nmetadata:\n  name: target\nspec:\n  a: &x [*x]\n', compare: ['message'] },
  { name: 'an apply with an alias bomb', method: 'PATCH', existing: true, contentType: apply, body: aliasBomb(9), compare: ['message'] },
  // kube-apiserver itself fails this one with a 500; this server must answer it (the field is pruned, with a warning).
  { name: 'an apply of 100,000 keys in one map', method: 'PATCH', existing: true, contentType: apply, body: manyKeys(100_000), compare: ['warnings'], deviation: { kube: 500, ours: { code: 200, warnings: '299 - "unknown field \\"spec.many\\""' } } },
  { name: 'an apply repeating a key under Strict', method: 'PATCH', existing: true, query: 'fieldValidation=Strict', contentType: apply, body: 'apiVersion: GROUP/v1alpha1\nkind: Notebook\nmetadata:\n  name: target\n  labels:\n    a: "1"\n    a: "2"\n', compare: ['message'] },
  { name: 'an apply repeating a key under Warn', method: 'PATCH', existing: true, contentType: apply, body: 'apiVersion: GROUP/v1alpha1\nkind: Notebook\nmetadata:\n  name: target\n  labels:\n    a: "1"\n    a: "2"\n', compare: ['warnings', 'labels'] },
  { name: 'an apply of labels named like prototype members', method: 'PATCH', existing: true, contentType: apply, body: 'apiVersion: GROUP/v1alpha1\nkind: Notebook\nmetadata:\n  name: target\n  labels:\n    toString: "a"\n    constructor: "b"\n    isPrototypeOf: "c"\n', compare: ['labels'] },
  { name: 'an apply in JSON nested past 10,000 levels', method: 'PATCH', existing: true, contentType: apply, body: `{"apiVersion":"GROUP/v1alpha1","kind":"Notebook","metadata":{"name":"target"},"spec":{"x":${nested(10_000)}}}`, compare: ['message'] },
  { name: 'an apply that is a list', method: 'PATCH', existing: true, contentType: apply, body: '- a\n- b\n', compare: ['message'] },
  { name: 'an apply that is not YAML', method: 'PATCH', existing: true, contentType: apply, body: 'a: [\n' },
];

interface Answer {
  code: number;
  reason?: string;
  message?: string;
  warnings?: string;
  labels?: unknown;
}

// The notebook strategy's own advice, which a CRD cannot give.
const strategyWarning = '299 - "spec.workspace is not set: files written in the notebook are lost when it stops"';

function warnings(header: string | string[] | undefined): string {
  return [header ?? []]
    .flat()
    .flatMap((h) => h.split(/, (?=299 )/))
    .filter((w) => w !== strategyWarning)
    .join(', ');
}

async function send(group: string, c: Case): Promise<Answer> {
  const base = `/apis/${group}/v1alpha1/namespaces/${ns}/notebooks`;
  if (c.existing) {
    await cluster.request('admin', 'DELETE', `${base}/target`);
    const created = await cluster.request('admin', 'POST', base, notebookJson('target').replaceAll('GROUP', group), { 'content-type': json });
    assert.equal(created.status, 201, `creating the target in ${group}: ${created.body}`);
  }
  const url = `${c.method === 'POST' ? base : `${base}/target`}${c.query ? `?${c.query}` : ''}${c.contentType === apply ? `${c.query ? '&' : '?'}fieldManager=hostile` : ''}`;
  const res = await cluster.request('admin', c.method, url, c.body.replaceAll('GROUP', group), { 'content-type': c.contentType });
  const body = (res.body ? JSON.parse(res.body) : {}) as Record<string, any>;
  const normalize = (text: string | undefined): string | undefined => text?.replaceAll(golden, 'GROUP').replaceAll(ours, 'GROUP');
  const answer: Answer = { code: res.status };
  if (body.kind === 'Status') answer.reason = body.reason;
  for (const part of c.compare ?? []) {
    if (part === 'message') answer.message = normalize(body.message);
    if (part === 'warnings') answer.warnings = normalize(warnings(res.headers.warning));
    if (part === 'labels') answer.labels = body.kind === 'Status' ? body : (body.metadata?.labels ?? null);
  }
  if (body.kind !== 'Status' && body.metadata?.name) await cluster.request('admin', 'DELETE', `${base}/${body.metadata.name}`);
  return answer;
}

describe('hostile input: the same answers as kube-apiserver gives a CRD', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const crd = await send(golden, c);
      const mine = await send(ours, c);
      if (c.deviation) {
        assert.equal(crd.code, c.deviation.kube, 'kube-apiserver answers otherwise now: compare with it again');
        assert.deepEqual(mine, c.deviation.ours);
      } else assert.deepEqual(mine, crd);
    });
  }
});

/** A request whose hostility is in its method, path or query rather than its body. */
interface RequestCase {
  name: string;
  method: string;
  /** Under the resource's collection path of each group, e.g. `?limit=1` or `/target`; `NS` is the namespace segment. */
  path: string;
  contentType?: string;
  /** `target`'s JSON, of each group. */
  body?: 'target';
  /** The target exists in both groups first. */
  existing?: boolean;
  compare?: Array<'message'>;
  /** Where this server answers otherwise on purpose: kube's status code (checked, so a change shows) and ours. */
  deviation?: { kube: number; ours: Answer };
}

const requestCases: RequestCase[] = [
  { name: 'a limit beyond int64', method: 'GET', path: '?limit=99999999999999999999', compare: ['message'] },
  { name: 'a limit of int64 max', method: 'GET', path: '?limit=9223372036854775807' },
  { name: 'a limit that is no integer', method: 'GET', path: '?limit=abc', compare: ['message'] },
  { name: 'a timeoutSeconds that is no integer', method: 'GET', path: '?timeoutSeconds=1.5', compare: ['message'] },
  // Only 0, f and false (any case) are false to kube; anything else, `yes` included, opens a watch.
  { name: 'a watch flag of fAlSe lists', method: 'GET', path: '?watch=fAlSe&limit=1' },
  { name: 'a continue token of JSON null', method: 'GET', path: `?limit=1&continue=${Buffer.from('null').toString('base64url')}`, compare: ['message'] },
  { name: 'a continue token of another version', method: 'GET', path: `?limit=1&continue=${Buffer.from('{"v":"x","rv":1,"start":"a"}').toString('base64url')}`, compare: ['message'] },
  { name: 'a continue token climbing out of its prefix', method: 'GET', path: `?limit=1&continue=${Buffer.from('{"v":"meta.k8s.io/v1","rv":1,"start":"../../x"}').toString('base64url')}`, compare: ['message'] },
  { name: 'a namespace that is not UTF-8', method: 'GET', path: 'NS=%ff' },
  // kube writes the name as "\xff" in its message and U+FFFD in details: code and reason only.
  { name: 'a name that is not UTF-8', method: 'GET', path: '/%ff' },
  { name: 'a name of 300 characters', method: 'GET', path: `/${'a'.repeat(300)}`, compare: ['message'] },
  { name: 'TRACE on a collection', method: 'TRACE', path: '', compare: ['message'] },
  { name: 'OPTIONS on an object', method: 'OPTIONS', path: '/target', compare: ['message'] },
  { name: 'PROPFIND on a collection', method: 'PROPFIND', path: '', compare: ['message'] },
  // kube lists its serializers (YAML and protobuf too): code and reason only.
  { name: 'a create sent as a merge patch', method: 'POST', path: '', contentType: 'application/merge-patch+json', body: 'target' },
  { name: 'an update sent as a JSON patch', method: 'PUT', path: '/target', contentType: 'application/json-patch+json', body: 'target', existing: true },
  { name: 'a create sent as text', method: 'POST', path: '', contentType: 'text/plain', body: 'target' },
  { name: 'a field selector on a field that cannot be selected', method: 'GET', path: '?fieldSelector=spec.stopped%3Dtrue', compare: ['message'] },
  { name: 'a label selector of 3,000 terms', method: 'GET', path: `?labelSelector=${Array.from({ length: 3_000 }, (_, i) => `k${i}=v`).join(',')}` },
  // kube-apiserver answers this with a 500 carrying the decoder's message; a client's mistake is a 400 here.
  {
    name: 'a delete whose dryRun is an object',
    method: 'DELETE',
    path: '/target',
    contentType: json,
    existing: true,
    compare: ['message'],
    deviation: { kube: 500, ours: { code: 400, reason: 'BadRequest', message: 'json: cannot unmarshal object into Go struct field DeleteOptions.dryRun of type []string' } },
  },
];

describe('hostile requests: the same answers as kube-apiserver gives a CRD', () => {
  const sendRequest = async (group: string, c: RequestCase): Promise<Answer> => {
    const collection = `/apis/${group}/v1alpha1/namespaces/${ns}/notebooks`;
    if (c.existing) {
      await cluster.request('admin', 'DELETE', `${collection}/target`);
      const created = await cluster.request('admin', 'POST', collection, notebookJson('target').replaceAll('GROUP', group), { 'content-type': json });
      assert.equal(created.status, 201, `creating the target in ${group}: ${created.body}`);
    }
    const path = c.path.startsWith('NS=') ? `/apis/${group}/v1alpha1/namespaces/${c.path.slice(3)}/notebooks` : `${collection}${c.path}`;
    const body = c.body === 'target' ? notebookJson('target').replaceAll('GROUP', group) : c.method === 'DELETE' && c.contentType ? '{"dryRun":{"a":1}}' : undefined;
    // Node sends a DELETE body only with a length: without one, neither server would see it.
    const headers = { ...(c.contentType ? { 'content-type': c.contentType } : {}), ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) };
    const res = await cluster.request('admin', c.method, path, body, headers);
    const parsed = (res.body.startsWith('{') ? JSON.parse(res.body) : {}) as Record<string, any>;
    const answer: Answer = { code: res.status };
    if (parsed.kind === 'Status') answer.reason = parsed.reason;
    if (c.compare?.includes('message')) answer.message = (parsed.message as string | undefined)?.replaceAll(golden, 'GROUP').replaceAll(ours, 'GROUP');
    await cluster.request('admin', 'DELETE', `${collection}/target`);
    return answer;
  };
  for (const c of requestCases) {
    it(c.name, async () => {
      const crd = await sendRequest(golden, c);
      const mine = await sendRequest(ours, c);
      if (c.deviation) {
        assert.equal(crd.code, c.deviation.kube, 'kube-apiserver answers otherwise now: compare with it again');
        assert.deepEqual(mine, c.deviation.ours);
      } else assert.deepEqual(mine, crd);
    });
  }
});
