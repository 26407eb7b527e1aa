// The audit policy checker against kube-apiserver's own (k8s.io/apiserver v0.32.2's policy loader and evaluator, in
// test/unit/audit-policy-oracle): every policy below is asked about every request, and the level, omitted stages
// and omitManagedFields must be the ones kube picks; policies kube's loader refuses must be refused here too.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAudit } from '../../src/server/audit/audit.js';
import { AuditPolicy, parsePolicy, type AuditAttributes } from '../../src/server/audit/policy.js';
import { buildGoOracle, type GoOracle } from '../support/go-oracle.js';

const policy = (rules: unknown[], extra: Record<string, unknown> = {}) => ({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules, ...extra });
const ai = 'ai.example.io';

const policies: { name: string; policy: unknown }[] = [
  { name: 'users, then groups, then a catch-all', policy: policy([{ level: 'None', users: ['carol'] }, { level: 'Request', userGroups: ['tenants'] }, { level: 'Metadata' }]) },
  { name: 'verbs', policy: policy([{ level: 'RequestResponse', verbs: ['create', 'update', 'patch'] }, { level: 'Metadata', verbs: ['watch'], omitStages: ['ResponseStarted'] }]) },
  {
    name: 'resources of a group, with subresource forms',
    policy: policy([
      { level: 'None', resources: [{ group: ai, resources: ['notebooks/status'] }] },
      { level: 'Request', resources: [{ group: ai, resources: ['*/scale'] }] },
      { level: 'Metadata', resources: [{ group: ai, resources: ['jobs/*'] }] },
      { level: 'RequestResponse', resources: [{ group: ai, resources: ['notebooks', 'datasets'] }] },
    ]),
  },
  { name: 'a wildcard resource', policy: policy([{ level: 'Metadata', resources: [{ group: ai, resources: ['*'] }] }]) },
  { name: 'a whole group, and the core group', policy: policy([{ level: 'Request', resources: [{ group: ai }] }, { level: 'Metadata', resources: [{ group: '' }] }]) },
  { name: 'resource names', policy: policy([{ level: 'RequestResponse', resources: [{ group: ai, resources: ['notebooks'], resourceNames: ['lab'] }] }, { level: 'Metadata' }]) },
  { name: 'namespaces, the empty one for cluster scope', policy: policy([{ level: 'Request', namespaces: ['team-a', ''] }, { level: 'None' }]) },
  { name: 'non-resource URLs with a trailing wildcard', policy: policy([{ level: 'None', nonResourceURLs: ['/healthz*', '/version'] }, { level: 'Metadata', nonResourceURLs: ['/apis/*'] }]) },
  { name: 'every non-resource URL', policy: policy([{ level: 'Request', nonResourceURLs: ['*'] }, { level: 'Metadata', resources: [{ group: ai, resources: ['notebooks'], resourceNames: ['*'] }] }]) },
  {
    name: 'omitStages from the policy and the rule, and omitManagedFields',
    policy: policy([{ level: 'RequestResponse', omitStages: ['ResponseStarted'], omitManagedFields: false, verbs: ['get'] }, { level: 'Request' }], { omitStages: ['RequestReceived'], omitManagedFields: true }),
  },
];

const invalid: { name: string; policy: unknown }[] = [
  { name: 'an unknown level', policy: policy([{ level: 'Everything' }]) },
  { name: 'no level', policy: policy([{ verbs: ['get'] }]) },
  { name: 'no rules', policy: policy([]) },
  { name: 'an unknown stage', policy: policy([{ level: 'None', omitStages: ['Done'] }]) },
  { name: 'resources and non-resource URLs in one rule', policy: policy([{ level: 'None', namespaces: ['a'], nonResourceURLs: ['/x'] }]) },
  { name: 'a URL not starting with a slash', policy: policy([{ level: 'None', nonResourceURLs: ['healthz'] }]) },
  { name: 'resourceNames without resources', policy: policy([{ level: 'None', resources: [{ group: ai, resourceNames: ['x'] }] }]) },
  { name: 'a wildcard inside a URL', policy: policy([{ level: 'None', nonResourceURLs: ['/apis/*/v1'] }]) },
  { name: 'a group that is no DNS subdomain', policy: policy([{ level: 'None', resources: [{ group: 'ai.example.io/v1alpha1' }] }]) },
];

/** A request as the oracle takes it: kube's authorizer attributes with the user flattened. */
type Attrs = { user: string; groups: string[]; verb: string } & (
  | { resourceRequest: true; group: string; resource: string; subresource: string; namespace: string; name: string }
  | { resourceRequest: false; path: string }
);
const request = (verb: string, resource: string, subresource = '', namespace = 'team-a', name = '', user = 'alice', groups = ['system:authenticated']): Attrs =>
  ({ user, groups, verb, resourceRequest: true, group: ai, resource, subresource, namespace, name });

const requests: Attrs[] = [
  request('create', 'notebooks'),
  request('get', 'notebooks', '', 'team-a', 'lab'),
  request('get', 'notebooks', '', 'team-a', 'other'),
  request('update', 'notebooks', 'status', 'team-a', 'lab'),
  request('patch', 'jobs', 'scale', 'team-b', 'resnet'),
  request('get', 'jobs', 'logs', 'team-a', 'resnet'),
  request('watch', 'datasets', '', ''),
  request('list', 'notebooks', '', 'team-b', '', 'carol'),
  request('delete', 'notebooks', '', 'team-b', 'x', 'bob', ['tenants', 'system:authenticated']),
  { user: 'alice', groups: [], verb: 'get', resourceRequest: true, group: '', resource: 'pods', subresource: '', namespace: 'team-a', name: 'p' },
  { user: 'alice', groups: [], verb: 'get', resourceRequest: false, path: '/healthz/etcd' },
  { user: 'alice', groups: [], verb: 'get', resourceRequest: false, path: '/version' },
  { user: 'alice', groups: [], verb: 'get', resourceRequest: false, path: '/apis/ai.example.io' },
  { user: 'carol', groups: [], verb: 'post', resourceRequest: false, path: '/openapi/v2' },
];

interface Answer {
  level?: string;
  omitStages?: string[];
  omitManagedFields?: boolean;
  error?: string;
}

let oracle: GoOracle;
before(() => void (oracle = buildGoOracle('audit-policy-oracle')));
after(() => oracle.remove());

describe('audit policy', () => {
  it('picks the level, stages and managedFields kube picks, for every request under every policy', () => {
    const questions = policies.flatMap((p) => requests.map((attrs) => ({ policy: p.policy, attrs })));
    const answers = oracle.ask<Answer>(questions);
    questions.forEach((q, i) => {
      const name = policies[Math.floor(i / requests.length)]!.name;
      const { user, groups, ...rest } = q.attrs;
      const attrs: AuditAttributes = { ...rest, user: { name: user, groups } };
      const got = new AuditPolicy(parsePolicy(JSON.stringify(q.policy))).evaluate(attrs);
      const want = answers[i]!;
      assert.equal(want.error, undefined, `${name}: kube refused the policy: ${want.error}`);
      assert.deepEqual(
        { level: got.level, omitStages: [...got.omitStages].sort(), omitManagedFields: got.omitManagedFields },
        { level: want.level, omitStages: want.omitStages ?? [], omitManagedFields: want.omitManagedFields ?? false },
        `${name}: ${JSON.stringify(q.attrs)}`,
      );
    });
  });

  for (const { name, policy: p } of invalid) {
    it(`refuses a policy with ${name}, as kube's loader does`, () => {
      const [want] = oracle.ask<Answer>([{ policy: p, attrs: {} }]);
      assert.ok(want!.error, `kube accepted it`);
      assert.throws(() => parsePolicy(JSON.stringify(p)));
    });
  }

  it('reads a policy written in YAML', () => {
    const parsed = parsePolicy('apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  resources:\n  - group: ai.example.io\n    resources: ["notebooks/status"]\n');
    assert.equal(new AuditPolicy(parsed).evaluate({ user: { name: 'a', groups: [] }, verb: 'update', resourceRequest: true, group: ai, resource: 'notebooks', subresource: 'status', namespace: 'n', name: 'x' }).level, 'Metadata');
  });

  it('stops the server at startup naming the file and the invalid field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-policy-'));
    try {
      const file = join(dir, 'policy.yaml');
      writeFileSync(file, 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Everything\n');
      const metrics = { event: () => undefined, level: () => undefined, error: () => undefined };
      await assert.rejects(openAudit({ policyFile: file, logPath: join(dir, 'audit.log'), maxAgeDays: 0, maxBackups: 0, maxSizeMB: 0 }, metrics, console), {
        message: `--audit-policy-file ${file}: invalid audit policy: rules[0].level: Unsupported value: "Everything": supported values: "None", "Metadata", "Request", "RequestResponse"`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
