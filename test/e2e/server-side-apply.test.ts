// Server-side apply against the real thing: every sequence runs twice through kube-apiserver, once on this
// server's resources and once on CustomResourceDefinitions generated from the same schemas (group
// golden.example.io), and the answers, objects and managedFields must be the same (times and identities aside).
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import type { LocalCluster } from '../support/cluster.js';
import { testBed } from '../support/test-bed.js';

const ours = 'ai.example.io';
const golden = 'golden.example.io';
const ns = 'ssa';
let cluster: LocalCluster;

type Sub = 'status' | 'scale';
type Step =
  | { op: 'apply'; manager?: string; force?: boolean; body: unknown; sub?: Sub; raw?: string }
  | { op: 'create'; manager: string; body: unknown }
  | { op: 'merge' | 'json'; manager: string; patch: unknown; sub?: Sub; force?: boolean }
  | { op: 'update'; manager: string; mutate: (object: Record<string, any>) => void };

interface Outcome {
  code: number;
  body: unknown;
}

const bed = testBed({
  name: 'server-side-apply',
  serverArgs: ['--no-controllers'],
  namespaces: [ns],
  crdGroup: golden,
});
beforeEach(async () => void (cluster = await bed.ready()));
after(() => bed.stop());

/** Group names and everything that differs by identity or time replaced, managedFields in a stable order. */
function normalize(value: unknown): unknown {
  const text = JSON.stringify(value ?? null).replaceAll(golden, 'GROUP').replaceAll(ours, 'GROUP');
  const walk = (v: any): any => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    // Built from entries so that a key "__proto__" stays a key on both sides instead of vanishing into the prototype.
    const out: Record<string, unknown> = Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !['uid', 'resourceVersion', 'creationTimestamp'].includes(k))
        .map(([k, child]) => [k, k === 'time' && typeof child === 'string' ? 'TIME' : walk(child)]),
    );
    if (Array.isArray(out.managedFields)) {
      out.managedFields = [...(out.managedFields as Record<string, string>[])].sort((a, b) =>
        `${a.operation}/${a.manager}/${a.subresource ?? ''}`.localeCompare(`${b.operation}/${b.manager}/${b.subresource ?? ''}`),
      );
    }
    if (Array.isArray((out.details as any)?.causes)) {
      (out.details as any).causes = [...(out.details as any).causes].sort((a: any, b: any) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    }
    return out;
  };
  return walk(JSON.parse(text));
}

async function run(group: string, resource: string, name: string, step: Step): Promise<Outcome> {
  const base = `/apis/${group}/v1alpha1/namespaces/${ns}/${resource}`;
  const url = `${base}/${name}${'sub' in step && step.sub ? `/${step.sub}` : ''}`;
  const withGroup = (v: unknown): string => JSON.stringify(v).replaceAll('GROUP', group);
  const query = (manager: string | undefined, force?: boolean): string => {
    const q = new URLSearchParams();
    if (manager !== undefined) q.set('fieldManager', manager);
    if (force !== undefined) q.set('force', String(force));
    return q.size ? `?${q}` : '';
  };
  let res: { status: number; body: string };
  switch (step.op) {
    case 'apply':
      res = await cluster.request('admin', 'PATCH', url + query(step.manager, step.force), step.raw ?? withGroup(step.body), {
        'content-type': 'application/apply-patch+yaml',
      });
      break;
    case 'create':
      res = await cluster.request('admin', 'POST', base + query(step.manager), withGroup(step.body), { 'content-type': 'application/json' });
      break;
    case 'merge':
    case 'json':
      res = await cluster.request('admin', 'PATCH', url + query(step.manager, step.force), withGroup(step.patch), {
        'content-type': step.op === 'merge' ? 'application/merge-patch+json' : 'application/json-patch+json',
      });
      break;
    case 'update': {
      const current = JSON.parse((await cluster.request('admin', 'GET', `${base}/${name}`)).body) as Record<string, any>;
      step.mutate(current);
      res = await cluster.request('admin', 'PUT', `${base}/${name}${query(step.manager)}`, JSON.stringify(current), { 'content-type': 'application/json' });
      break;
    }
  }
  const parsed = res.body ? (JSON.parse(res.body) as Record<string, any>) : null;
  // A Scale's selector and status come from each side's own conventions; its replicas and owners must agree.
  const body = parsed?.kind === 'Scale' ? { spec: parsed.spec, managedFields: parsed.metadata?.managedFields } : parsed;
  return { code: res.status, body: normalize(body) };
}

async function getObject(group: string, resource: string, name: string): Promise<Record<string, any>> {
  const res = await cluster.request('admin', 'GET', `/apis/${group}/v1alpha1/namespaces/${ns}/${resource}/${name}`);
  return JSON.parse(res.body) as Record<string, any>;
}

/** Runs the steps on both APIs and asserts that every answer and the object after every step are the same. */
async function compareSteps(name: string, resource: string, steps: Step[]): Promise<{ ours: Record<string, any>; crd: Record<string, any> }> {
  for (const [i, step] of steps.entries()) {
    const crd = await run(golden, resource, name, step);
    const mine = await run(ours, resource, name, step);
    assert.deepEqual(mine, crd, `step ${i + 1} (${step.op}): the answer differs from kube-apiserver's`);
    const crdObject = await getObject(golden, resource, name);
    const ourObject = await getObject(ours, resource, name);
    assert.deepEqual(normalize(ourObject), normalize(crdObject), `step ${i + 1} (${step.op}): the object differs from kube-apiserver's`);
  }
  return { ours: await getObject(ours, resource, name), crd: await getObject(golden, resource, name) };
}

const container = (image: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name: 'main', image, ...extra });
const notebook = (name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'GROUP/v1alpha1',
  kind: 'Notebook',
  metadata: { name, ...metadata },
  spec,
});
const podSpec = (containers: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({ template: { spec: { containers, ...extra } } });
const env = (...pairs: [string, string][]): { name: string; value: string }[] => pairs.map(([n, value]) => ({ name: n, value }));

describe('server-side apply: the same results as kube-apiserver gives a CRD', () => {
  it('apply creates; applying the same configuration again changes nothing', async () => {
    const config = notebook('nb-create', { ...podSpec([container('jupyter:1', { env: env(['A', '1'], ['B', '2']), ports: [{ containerPort: 8888, protocol: 'TCP' }] })]), idle: { timeoutSeconds: 600 } }, { labels: { app: 'a' } });
    await compareSteps('nb-create', 'notebooks', [{ op: 'apply', manager: 'kubectl', body: config }]);
    const before = await getObject(ours, 'notebooks', 'nb-create');
    const crdBefore = await getObject(golden, 'notebooks', 'nb-create');
    await compareSteps('nb-create', 'notebooks', [{ op: 'apply', manager: 'kubectl', body: config }]);
    assert.equal((await getObject(ours, 'notebooks', 'nb-create')).metadata.resourceVersion, before.metadata.resourceVersion, 'a second identical apply wrote');
    assert.equal((await getObject(golden, 'notebooks', 'nb-create')).metadata.resourceVersion, crdBefore.metadata.resourceVersion);
  });

  it('two managers conflict on a field; force takes it over', async () => {
    const name = 'nb-conflict';
    await compareSteps(name, 'notebooks', [
      { op: 'apply', manager: 'alpha', body: notebook(name, podSpec([container('jupyter:1')])) },
      { op: 'apply', manager: 'beta', body: notebook(name, { ...podSpec([container('jupyter:2')]), stopped: true }) },
      { op: 'apply', manager: 'beta', force: true, body: notebook(name, { ...podSpec([container('jupyter:2')]), stopped: true }) },
      { op: 'apply', manager: 'alpha', body: notebook(name, podSpec([container('jupyter:1')])) },
      { op: 'apply', manager: 'beta', body: notebook(name, podSpec([container('jupyter:2')])) },
    ]);
  });

  it('a field a manager stops applying is removed unless someone else owns it', async () => {
    const name = 'nb-prune';
    await compareSteps(name, 'notebooks', [
      { op: 'apply', manager: 'alpha', body: notebook(name, { ...podSpec([container('jupyter:1', { env: env(['A', '1'], ['B', '2']) })]), idle: { timeoutSeconds: 600 } }, { labels: { a: '1', b: '2' } }) },
      { op: 'apply', manager: 'beta', body: notebook(name, podSpec([container('jupyter:1', { env: env(['B', '2']) })]), { labels: { b: '2' } }) },
      { op: 'apply', manager: 'alpha', body: notebook(name, podSpec([container('jupyter:1', { env: env(['A', '1']) })])) },
      { op: 'apply', manager: 'beta', body: notebook(name, podSpec([container('jupyter:1')])) },
      { op: 'apply', manager: 'alpha', body: notebook(name, {}) },
    ]);
  });

  it('list-maps merge by key: containers by name, ports by port and protocol, conditions by type', async () => {
    const name = 'nb-listmap';
    await compareSteps(name, 'notebooks', [
      { op: 'apply', manager: 'alpha', body: notebook(name, podSpec([container('jupyter:1', { ports: [{ containerPort: 8888, protocol: 'TCP' }] })])) },
      { op: 'apply', manager: 'beta', body: notebook(name, podSpec([{ name: 'sidecar', image: 'proxy:1' }])) },
      {
        op: 'apply',
        manager: 'beta',
        body: notebook(name, podSpec([{ name: 'sidecar', image: 'proxy:1', ports: [{ containerPort: 9000, protocol: 'TCP' }] }, container('jupyter:1', { ports: [{ containerPort: 8889, protocol: 'UDP' }] })])),
      },
      { op: 'apply', manager: 'alpha', body: notebook(name, podSpec([container('jupyter:1')], { volumes: [{ name: 'v', emptyDir: {} }] })) },
    ]);
  });

  it('updates record their managers; applying over them conflicts, and before-first-apply owns unmanaged fields', async () => {
    const name = 'nb-updates';
    await compareSteps(name, 'notebooks', [
      { op: 'create', manager: 'creator', body: notebook(name, { ...podSpec([container('jupyter:1')]), idle: { timeoutSeconds: 600 } }) },
      { op: 'merge', manager: 'patcher', patch: { metadata: { labels: { x: '1' } }, spec: { stopped: true } } },
      { op: 'json', manager: 'jsonpatcher', patch: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'jupyter:2' }] },
      { op: 'update', manager: 'replacer', mutate: (o) => void (o.spec.idle.timeoutSeconds = 900) },
      { op: 'apply', manager: 'applier', body: notebook(name, { ...podSpec([container('jupyter:3')]), stopped: false }) },
      { op: 'apply', manager: 'applier', force: true, body: notebook(name, { ...podSpec([container('jupyter:3')]), stopped: false }) },
      { op: 'merge', manager: 'cleaner', patch: { metadata: { managedFields: [{}] } } },
      { op: 'merge', manager: 'untracked', patch: { spec: { stopped: true } } },
      { op: 'apply', manager: 'late', body: notebook(name, podSpec([container('jupyter:4')])) },
      { op: 'apply', manager: 'late', body: notebook(name, podSpec([container('jupyter:2')])) },
    ]);
  });

  it('status: apply on /status, other writers, status in a main-resource apply is ignored', async () => {
    const name = 'nb-status';
    const condition = (type: string, status: string) => ({ type, status, reason: 'Seen', message: 'seen', lastTransitionTime: '2026-01-01T00:00:00Z' });
    await compareSteps(name, 'notebooks', [
      { op: 'apply', manager: 'alpha', body: notebook(name, podSpec([container('jupyter:1')])) },
      { op: 'apply', manager: 'controller', sub: 'status', body: { ...notebook(name, {}), spec: undefined, status: { phase: 'Running', conditions: [condition('Ready', 'True')] } } },
      { op: 'merge', manager: 'other', sub: 'status', patch: { status: { conditions: [condition('Ready', 'True'), condition('Synced', 'True')] } } },
      { op: 'apply', manager: 'alpha', body: { ...notebook(name, podSpec([container('jupyter:1')])), status: { phase: 'Failed' } } },
      { op: 'apply', manager: 'controller', sub: 'status', body: { ...notebook(name, {}), spec: undefined, status: { phase: 'Stopped' } } },
    ]);
  });

  it('scale: ownership of replicas moves through /scale', async () => {
    const name = 'job-scale';
    const job = (replicas: number): Record<string, unknown> => ({
      apiVersion: 'GROUP/v1alpha1',
      kind: 'Job',
      metadata: { name },
      spec: { replicas, framework: 'pytorch', nprocPerNode: 1, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'trainer', image: 'pytorch:1' }] } } },
    });
    await compareSteps(name, 'jobs', [
      { op: 'apply', manager: 'alpha', body: job(2) },
      { op: 'merge', manager: 'scaler', sub: 'scale', patch: { spec: { replicas: 3 } } },
      { op: 'apply', manager: 'alpha', body: job(2) },
      { op: 'merge', manager: 'scaler', sub: 'scale', patch: { spec: { replicas: 4 } } },
      { op: 'update', manager: 'editor', mutate: (o) => void (o.spec.nprocPerNode = 2) },
    ]);
  });

  it('scale: apply on /scale (kube-apiserver answers a CRD with a 500 here) moves replicas to the applier', async () => {
    const name = 'job-scale';
    const scale = (replicas: number): string => JSON.stringify({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name }, spec: { replicas } });
    const path = `/apis/${ours}/v1alpha1/namespaces/${ns}/jobs/${name}/scale?fieldManager=hpa`;
    const headers = { 'content-type': 'application/apply-patch+yaml' };
    const conflict = await cluster.request('admin', 'PATCH', path, scale(6), headers);
    assert.equal(conflict.status, 409, conflict.body);
    assert.equal(JSON.parse(conflict.body).message, 'Apply failed with 1 conflict: conflict with "scaler" with subresource "scale" using autoscaling/v1: .spec.replicas');
    const forced = await cluster.request('admin', 'PATCH', `${path}&force=true`, scale(6), headers);
    assert.equal(forced.status, 200, forced.body);
    assert.equal(JSON.parse(forced.body).spec.replicas, 6);
    const job = await getObject(ours, 'jobs', name);
    assert.equal(job.spec.replicas, 6);
    const owners = (job.metadata.managedFields as { manager: string; operation: string; subresource?: string; fieldsV1: unknown }[]).filter((e) =>
      JSON.stringify(e.fieldsV1).includes('f:replicas'),
    );
    assert.deepEqual(
      owners.map((e) => [e.manager, e.operation, e.subresource, e.fieldsV1]),
      [['hpa', 'Apply', 'scale', { 'f:spec': { 'f:replicas': {} } }]],
    );
  });

  it('kubectl: client-side apply, then --server-side takes over; re-apply is a no-op; --force-conflicts; removal', async () => {
    const name = 'nb-kubectl';
    const manifest = (group: string, image: string, idle: boolean): string =>
      JSON.stringify(notebook(name, { ...podSpec([container(image)]), ...(idle ? { idle: { timeoutSeconds: 600 } } : {}) }, { labels: { app: 'nb' } })).replaceAll('GROUP', group);
    const kubectl = (args: string[], input: string) => cluster.kubectl('admin', ['-n', ns, ...args], input);
    const steps: [string[], (group: string) => string, boolean][] = [
      [['apply', '-f', '-'], (g) => manifest(g, 'jupyter:1', true), true],
      [['apply', '--server-side', '-f', '-'], (g) => manifest(g, 'jupyter:1', true), true],
      [['apply', '--server-side', '-f', '-'], (g) => manifest(g, 'jupyter:1', true), true],
      [['apply', '--server-side', '--field-manager=other', '-f', '-'], (g) => manifest(g, 'jupyter:2', false), false],
      [['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'], (g) => manifest(g, 'jupyter:2', false), true],
      [['apply', '--server-side', '-f', '-'], (g) => manifest(g, 'jupyter:2', false), true],
    ];
    for (const [i, [args, input, succeeds]] of steps.entries()) {
      const versions: string[] = [];
      for (const group of [golden, ours]) {
        const before = i > 0 ? (await getObject(group, 'notebooks', name)).metadata.resourceVersion : '';
        const res = await kubectl(args, input(group));
        assert.equal(res.code === 0, succeeds, `step ${i + 1} on ${group}: kubectl ${args.join(' ')}: ${res.stderr}`);
        if (!succeeds) assert.match(res.stderr, /Apply failed with 1 conflict: conflict with "kubectl": \.spec\.template\.spec\.containers\[name="main"\]\.image/);
        versions.push((await getObject(group, 'notebooks', name)).metadata.resourceVersion === before ? 'unchanged' : 'written');
      }
      assert.equal(versions[1], versions[0], `step ${i + 1}: kube-apiserver's CRD was ${versions[0]}, ours ${versions[1]}`);
      if (i === 2) assert.deepEqual(versions, ['unchanged', 'unchanged'], 'the repeated server-side apply wrote');
      assert.deepEqual(normalize(await getObject(ours, 'notebooks', name)), normalize(await getObject(golden, 'notebooks', name)), `step ${i + 1}: objects differ`);
    }
    const final = await getObject(ours, 'notebooks', name);
    assert.equal(final.spec.idle, undefined);
    assert.equal(final.spec.template.spec.containers[0].image, 'jupyter:2');
  });

  it('keys named like Object.prototype members are data through every write verb, their removal and refusal', async () => {
    const name = 'nb-proto';
    const all = Object.getOwnPropertyNames(Object.prototype);
    // Label and annotation keys must start alphanumeric: "__proto__" and the other underscored names are refused there.
    const valid = all.filter((n) => /^[A-Za-z0-9]/.test(n));
    const map = (keys: string[], value: string): Record<string, string> => Object.fromEntries(keys.map((k) => [k, value]));
    const one = (key: string, value: string | null): Record<string, string | null> => Object.fromEntries([[key, value]]);
    const spec = (labels: Record<string, string>, nodeSelector: Record<string, string>): Record<string, unknown> => ({
      template: { metadata: { labels }, spec: { containers: [container('jupyter:1', { resources: { limits: map(all, '1') } })], nodeSelector } },
    });
    await compareSteps(name, 'notebooks', [
      { op: 'create', manager: 'creator', body: notebook(name, spec(map(all, 'a'), map(all, 'a')), { labels: map(valid, 'a') }) },
      {
        op: 'merge',
        manager: 'patcher',
        patch: { metadata: { labels: { ...one('constructor', null), toString: 'b' }, annotations: map(valid, 'm') }, spec: { template: { metadata: { labels: { ...one('__proto__', null), valueOf: 'b' } } } } },
      },
      {
        op: 'json',
        manager: 'jsonpatcher',
        patch: [
          { op: 'remove', path: '/metadata/labels/hasOwnProperty' },
          { op: 'add', path: '/metadata/labels/constructor', value: 'c' },
          { op: 'remove', path: '/spec/template/spec/nodeSelector/__proto__' },
          { op: 'test', path: '/metadata/annotations/toLocaleString', value: 'm' },
          { op: 'remove', path: '/metadata/annotations/toLocaleString' },
        ],
      },
      {
        op: 'update',
        manager: 'replacer',
        mutate: (o) => {
          delete o.metadata.labels.valueOf;
          o.metadata.labels.isPrototypeOf = 'd';
          delete o.spec.template.spec.containers[0].resources.limits.__defineGetter__;
        },
      },
      { op: 'apply', manager: 'applier', body: notebook(name, spec(map(['__lookupGetter__', 'toString'], 'e'), map(['constructor', 'valueOf'], 'e')), { labels: map(['toString', 'propertyIsEnumerable'], 'e') }) },
      { op: 'apply', manager: 'applier', force: true, body: notebook(name, spec(map(['__lookupGetter__', 'toString'], 'e'), map(['constructor', 'valueOf'], 'e')), { labels: map(['toString', 'propertyIsEnumerable'], 'e') }) },
      { op: 'apply', manager: 'applier', body: notebook(name, spec(map(['toString'], 'e'), map(['valueOf'], 'e')), { labels: map(['propertyIsEnumerable'], 'e') }) },
    ]);
    // Refused keys: kube-apiserver lists a CRD's ObjectMeta errors once per validation pass that finds them (three on an
    // update), and this server once; the code, the message and the distinct causes must agree.
    const refusals: Step[] = [
      { op: 'merge', manager: 'patcher', patch: { metadata: { labels: one('__proto__', 'x') } } },
      { op: 'json', manager: 'jsonpatcher', patch: [{ op: 'add', path: '/metadata/annotations/__proto__', value: 'x' }] },
      { op: 'apply', manager: 'applier', body: notebook(name, {}, { labels: one('__defineSetter__', 'x') }) },
    ];
    const distinct = (outcome: Outcome): unknown => {
      const body = outcome.body as { message?: string; details?: { causes?: unknown[] } };
      return { code: outcome.code, message: body.message, causes: [...new Set((body.details?.causes ?? []).map((c) => JSON.stringify(c)))] };
    };
    for (const step of refusals) {
      const crd = await run(golden, 'notebooks', name, step);
      assert.equal(crd.code, 422);
      assert.deepEqual(distinct(await run(ours, 'notebooks', name, step)), distinct(crd), JSON.stringify(step));
    }
    assert.deepEqual(normalize(await getObject(ours, 'notebooks', name)), normalize(await getObject(golden, 'notebooks', name)));
  });

  it('bad input is refused the same way and changes nothing', async () => {
    const name = 'nb-bad';
    const good = notebook(name, podSpec([container('jupyter:1')]));
    await compareSteps(name, 'notebooks', [{ op: 'apply', manager: 'alpha', body: good }]);
    const before = await Promise.all([ours, golden].map(async (g) => (await getObject(g, 'notebooks', name)).metadata.resourceVersion as string));
    await compareSteps(name, 'notebooks', [
      { op: 'apply', body: good },
      { op: 'apply', manager: 'alpha', body: { ...good, kind: 'Dataset' } },
      { op: 'apply', manager: 'alpha', body: { ...good, apiVersion: 'v1' } },
      { op: 'apply', manager: 'alpha', body: { ...good, metadata: { name, managedFields: [] } } },
      { op: 'merge', manager: 'alpha', force: true, patch: { spec: { stopped: true } } },
    ]);
    // Duplicate keys: kube-apiserver answers 500 with these words; this server says the same with a 400.
    const duplicate = JSON.stringify(notebook(name, podSpec([container('jupyter:1'), container('jupyter:2')]))).replaceAll('GROUP', ours);
    const res = await cluster.request('admin', 'PATCH', `/apis/${ours}/v1alpha1/namespaces/${ns}/notebooks/${name}?fieldManager=alpha`, duplicate, {
      'content-type': 'application/apply-patch+yaml',
    });
    assert.equal(res.status, 400, res.body);
    assert.equal(
      JSON.parse(res.body).message,
      `failed to create typed patch object (/${name}; ${ours}/v1alpha1, Kind=Notebook): .spec.template.spec.containers: duplicate entries for key [name="main"]`,
    );
    for (const group of [golden, ours]) {
      const res = await cluster.request('admin', 'PATCH', `/apis/${group}/v1alpha1/namespaces/${ns}/notebooks/${name}?fieldManager=alpha`, 'spec: [unclosed', {
        'content-type': 'application/apply-patch+yaml',
      });
      assert.equal(res.status, 400, `${group}: ${res.body}`);
      assert.match(JSON.parse(res.body).message, /^error decoding YAML: /);
    }
    assert.deepEqual(normalize(await getObject(ours, 'notebooks', name)), normalize(await getObject(golden, 'notebooks', name)));
    const after = await Promise.all([ours, golden].map(async (g) => (await getObject(g, 'notebooks', name)).metadata.resourceVersion as string));
    assert.deepEqual(after, before, 'a refused request wrote');
  });
});
