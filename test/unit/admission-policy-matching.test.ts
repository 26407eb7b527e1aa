// ValidatingAdmissionPolicy matching (matchConstraints and a binding's matchResources) against k8s.io/apiserver
// v0.32.2's matching.Matcher itself (test/unit/policy-match-oracle): every criteria × request pair must get kube's
// answer, its error included.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiErrors } from '../../src/api/meta/errors.js';
import { matchResources } from '../../src/admission/policy/matching.js';
import type { MatchResources } from '../../src/admission/policy/types.js';
import type { AdmissionAttributes, AdmissionOperation } from '../../src/registry/admission.js';
import { buildGoOracle, type GoOracle } from '../support/go-oracle.js';

interface Request {
  operation: AdmissionOperation;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  kind: string;
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  oldLabels?: Record<string, string>;
}

const notebook = (over: Partial<Request>): Request => ({
  operation: 'CREATE',
  group: 'ai.example.io',
  version: 'v1alpha1',
  resource: 'notebooks',
  subresource: '',
  kind: 'Notebook',
  name: 'nb',
  namespace: 'team-a',
  labels: { app: 'lab' },
  ...over,
});

const requests: { name: string; request: Request; namespace: Record<string, string> | null }[] = [
  { name: 'create of a notebook in a labelled namespace', request: notebook({}), namespace: { env: 'prod' } },
  { name: 'create of a notebook in an unlabelled namespace', request: notebook({}), namespace: {} },
  { name: 'create of a notebook in a namespace that does not exist', request: notebook({}), namespace: null },
  { name: 'update of a notebook whose old object has the label', request: notebook({ operation: 'UPDATE', labels: {}, oldLabels: { app: 'lab' } }), namespace: { env: 'prod' } },
  { name: 'delete of a notebook', request: notebook({ operation: 'DELETE', labels: undefined, oldLabels: { app: 'lab' } }), namespace: { env: 'prod' } },
  { name: 'update of notebooks/status', request: notebook({ operation: 'UPDATE', subresource: 'status', oldLabels: { app: 'lab' } }), namespace: { env: 'prod' } },
  { name: 'connect to notebooks/proxy', request: notebook({ operation: 'CONNECT', subresource: 'proxy', labels: undefined }), namespace: { env: 'prod' } },
  { name: 'create of a job named train', request: notebook({ resource: 'jobs', kind: 'Job', name: 'train' }), namespace: { env: 'dev' } },
  { name: 'create of a cluster-scoped object', request: notebook({ group: 'example.io', resource: 'things', kind: 'Thing', namespace: '' }), namespace: null },
];

const rule = (over: Record<string, unknown>): Record<string, unknown> => ({
  operations: ['CREATE', 'UPDATE'],
  apiGroups: ['ai.example.io'],
  apiVersions: ['v1alpha1'],
  resources: ['notebooks'],
  scope: '*',
  ...over,
});

const criteria: { name: string; criteria: MatchResources }[] = [
  { name: 'notebooks on create and update', criteria: { resourceRules: [rule({})] } },
  { name: 'everything (binding without rules)', criteria: {} },
  { name: 'every resource and subresource', criteria: { resourceRules: [rule({ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*/*'] })] } },
  { name: 'every resource, no subresource', criteria: { resourceRules: [rule({ operations: ['*'], resources: ['*'] })] } },
  { name: 'notebooks/status only', criteria: { resourceRules: [rule({ resources: ['notebooks/status'] })] } },
  { name: 'notebooks/* on connect', criteria: { resourceRules: [rule({ operations: ['CONNECT'], resources: ['notebooks/*'] })] } },
  { name: 'another version', criteria: { resourceRules: [rule({ apiVersions: ['v1'] })] } },
  { name: 'namespaced scope', criteria: { resourceRules: [rule({ operations: ['*'], apiGroups: ['*'], resources: ['*'], scope: 'Namespaced' })] } },
  { name: 'cluster scope', criteria: { resourceRules: [rule({ operations: ['*'], apiGroups: ['*'], resources: ['*'], scope: 'Cluster' })] } },
  { name: 'resourceNames', criteria: { resourceRules: [rule({ resources: ['jobs', 'notebooks'], resourceNames: ['train'] })] } },
  { name: 'excludeResourceRules', criteria: { resourceRules: [rule({ resources: ['*'] })], excludeResourceRules: [rule({ resources: ['jobs'] })] } },
  { name: 'namespaceSelector matchLabels', criteria: { resourceRules: [rule({})], namespaceSelector: { matchLabels: { env: 'prod' } } } },
  {
    name: 'namespaceSelector NotIn',
    criteria: { resourceRules: [rule({ resources: ['*'] })], namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] } },
  },
  {
    name: 'namespaceSelector Exists on a rule that does not match',
    criteria: { resourceRules: [rule({ resources: ['datasets'] })], namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'Exists' }] } },
  },
  { name: 'objectSelector In', criteria: { resourceRules: [rule({ operations: ['*'] })], objectSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['lab'] }] } } },
  { name: 'objectSelector DoesNotExist', criteria: { objectSelector: { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] } } },
];

/** What kube-apiserver's defaulting makes of a MatchResources before anyone reads it. */
const defaulted = (c: MatchResources): MatchResources => ({ namespaceSelector: {}, objectSelector: {}, matchPolicy: 'Equivalent', ...c });

function attributesOf(r: Request): AdmissionAttributes {
  const objectOf = (labels: Record<string, string> | undefined) =>
    labels === undefined ? null : { apiVersion: `${r.group}/${r.version}`, kind: r.kind, metadata: { name: r.name, labels } };
  return {
    operation: r.operation,
    kind: { group: r.group, version: r.version, kind: r.kind },
    resource: { group: r.group, version: r.version, resource: r.resource },
    subResource: r.subresource,
    name: r.name,
    namespace: r.namespace,
    object: objectOf(r.labels),
    oldObject: objectOf(r.oldLabels),
    dryRun: false,
    options: null,
    userInfo: { name: 'alice', uid: '', groups: [], extra: {} },
  };
}

describe('ValidatingAdmissionPolicy matching', () => {
  it("null labels (a mutating webhook's patch) are no labels to the object selector, as kube reads them", async () => {
    const unlabelled = { ...attributesOf(notebook({})), object: { apiVersion: 'ai.example.io/v1alpha1', kind: 'Notebook', metadata: { name: 'nb', labels: null } } };
    const select = (operator: 'In' | 'DoesNotExist'): Promise<boolean> =>
      matchResources(defaulted({ objectSelector: { matchExpressions: [{ key: 'app', operator, values: operator === 'In' ? ['lab'] : [] }] } }), unlabelled as unknown as AdmissionAttributes, async () => ({}));
    assert.deepEqual([await select('In'), await select('DoesNotExist')], [false, true]);
  });

  let oracle: GoOracle;
  before(() => (oracle = buildGoOracle('policy-match-oracle')));
  after(() => oracle?.remove());

  it('selects exactly the requests kube selects, with kube\'s error for a namespace that does not exist', async () => {
    const pairs = criteria.flatMap((c) => requests.map((r) => ({ c, r })));
    const answers = oracle.ask<{ matches: boolean; error?: string }>(
      pairs.map(({ c, r }) => ({ criteria: defaulted(c.criteria), request: r.request, namespace: r.namespace })),
    );
    const mismatches: string[] = [];
    for (const [i, { c, r }] of pairs.entries()) {
      let got: { matches: boolean; error?: string };
      try {
        got = {
          matches: await matchResources(defaulted(c.criteria), attributesOf(r.request), async () => {
            if (r.namespace === null) throw apiErrors.namespaceNotFound(r.request.namespace);
            return r.namespace;
          }),
        };
      } catch (error) {
        got = { matches: false, error: (error as Error).message };
      }
      const want = answers[i]!;
      if (got.matches !== want.matches || got.error !== want.error) {
        mismatches.push(`${c.name} × ${r.name}: got ${JSON.stringify(got)}, kube ${JSON.stringify(want)}`);
      }
    }
    assert.deepEqual(mismatches, []);
    // The table is worth running only if it has both answers and the error in it.
    assert.ok(answers.some((a) => a.matches) && answers.some((a) => !a.matches && !a.error) && answers.some((a) => a.error));
  });
});
