// ValidatingAdmissionPolicy on this server's resources, judged by kube-apiserver itself: every policy is created with
// kubectl, its matchConstraints name both ai.example.io and a CRD group generated from the same schemas
// (golden.example.io), and each request is sent to both through kube-apiserver: the answer, code, message and the
// warnings kubectl prints must be the same. kube-apiserver's own policy informer needs a moment to see a new policy,
// so each comparison first waits until the CRD request shows the policy at work, then until ours does.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { parse, stringify } from 'yaml';
import { compilePolicy } from '../../src/admission/policy/compile.js';
import type { ValidatingAdmissionPolicy } from '../../src/admission/policy/types.js';
import type { LocalCluster } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';
import { notebookYaml } from '../support/manifests.js';
import { testBed } from '../support/test-bed.js';

const ours = 'ai.example.io';
const golden = 'golden.example.io';
const enforced = 'vap-enforced';
const free = 'vap-free';
const warned = 'vap-warned';
const gpus = 'vap-gpus';
const broken = 'vap-broken';
const audited = 'vap-audited';
let cluster: LocalCluster;

// This server's audit log, to read the annotations the policy plugin adds to a request's event.
const auditDir = mkdtempSync(join(tmpdir(), 'ai-apiserver-vap-audit-'));
const auditLog = join(auditDir, 'audit.log');
const auditPolicy = join(auditDir, 'policy.yaml');
writeFileSync(
  auditPolicy,
  stringify({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitStages: ['RequestReceived'], rules: [{ level: 'Metadata', namespaces: [audited] }, { level: 'None' }] }),
);

/**
 * One policy per case, bound to a namespace of its own (vap-case-<name>): what kube-apiserver answers for the CRD is
 * the expectation; `refused` says only which way it goes, to know when both sides apply the policy.
 */
interface Case {
  name: string;
  spec: Record<string, unknown>;
  refused: boolean;
  /** DELETE a notebook named victim made at setup, rather than CREATE one named probe. */
  deletes?: boolean;
}
const deny = (expression: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ validations: [{ expression, ...extra }] });
const cases: Case[] = [
  { name: 'condition-false', spec: { matchConditions: [{ name: 'never', expression: "object.metadata.name == 'nobody'" }], ...deny('false', { message: 'not reached' }) }, refused: false },
  {
    name: 'condition-error-fail',
    spec: { failurePolicy: 'Fail', matchConditions: [{ name: 'broken', expression: 'object.spec.workspace.size > 5' }], ...deny('false', { message: 'not reached' }) },
    refused: true,
  },
  {
    name: 'condition-error-ignore',
    spec: { failurePolicy: 'Ignore', matchConditions: [{ name: 'broken', expression: 'object.spec.workspace.size > 5' }], ...deny('false', { message: 'not reached' }) },
    refused: false,
  },
  { name: 'forbidden', spec: deny('false', { message: 'not yours', reason: 'Forbidden' }), refused: true },
  { name: 'too-large', spec: deny('size(object.spec.template.spec.containers) < 1', { message: 'too big', reason: 'RequestEntityTooLarge' }), refused: true },
  { name: 'message-error-fallback', spec: deny('false', { message: 'the static message', messageExpression: "string(object.metadata.labels['missing'])" }), refused: true },
  { name: 'message-blank-fallback', spec: deny('false', { message: 'the static message', messageExpression: "'   '" }), refused: true },
  { name: 'no-message', spec: deny("  object.metadata.name == 'x'  "), refused: true },
  { name: 'variable-error', spec: { variables: [{ name: 'bad', expression: 'object.spec.workspace.size > 5' }], ...deny('variables.bad') }, refused: true },
  { name: 'variables', spec: { variables: [{ name: 'image', expression: 'object.spec.template.spec.containers[0].image' }, { name: 'jupyter', expression: "variables.image.startsWith('jupyter/')" }], ...deny('!variables.jupyter', { messageExpression: "'image ' + variables.image + ' is from jupyter'" }) }, refused: true },
  { name: 'request-fields', spec: deny("request.operation != 'CREATE' || request.userInfo.username != 'admin'", { messageExpression: "request.operation + ' ' + request.resource.resource + ' ' + request.kind.kind + ' ' + request.namespace + ' ' + request.name + ' by ' + request.userInfo.username + ' dryRun=' + string(request.dryRun)" }), refused: true },
  { name: 'namespace-object', spec: deny("namespaceObject.metadata.name != 'vap-case-namespace-object'", { messageExpression: "'in ' + namespaceObject.metadata.name + ' labelled ' + namespaceObject.metadata.labels['vap-e2e-case']" }), refused: true },
  {
    name: 'params-not-found-allow',
    spec: { paramKind: { apiVersion: 'v1', kind: 'ConfigMap' }, ...deny('false', { message: 'not reached' }) },
    refused: false,
  },
  { name: 'unknown-param-kind', spec: { paramKind: { apiVersion: 'example.io/v1', kind: 'Nothing' }, ...deny('true') }, refused: true },
  { name: 'runtime-error-ignore', spec: { failurePolicy: 'Ignore', ...deny('object.spec.workspace.size > 5') }, refused: false },
  {
    // Each selected ConfigMap is a param of its own (kind and apiVersion filled in); one of them refuses.
    name: 'params-selector',
    spec: {
      paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
      ...deny('object.metadata.name != params.data.forbidden', { messageExpression: "'the name ' + params.data.forbidden + ' is taken (' + params.apiVersion + ' ' + params.kind + ' ' + params.metadata.name + ')'" }),
    },
    refused: true,
  },
  {
    name: 'delete',
    spec: deny("oldObject.metadata.name != 'victim'", { messageExpression: "request.operation + ' of ' + oldObject.metadata.name + ', object ' + (object == null ? 'null' : 'set')" }),
    refused: true,
    deletes: true,
  },
  // Applied last: once both sides apply it, they have seen every case before it.
  { name: 'sentinel', spec: deny('false', { message: 'sentinel' }), refused: true },
];
const caseNamespace = (c: Case): string => `vap-case-${c.name}`;
const bindingParams: Readonly<Record<string, unknown>> = {
  'params-not-found-allow': { name: 'absent', parameterNotFoundAction: 'Allow' },
  'unknown-param-kind': { name: 'x', parameterNotFoundAction: 'Deny' },
  'params-selector': { selector: { matchLabels: { 'vap-e2e-param': 'selected' } }, parameterNotFoundAction: 'Deny' },
};

const bed = testBed({
  name: 'admission-policy',
  serverArgs: ['--no-controllers', '--audit-policy-file', auditPolicy, '--audit-log-path', auditLog],
  namespaces: [enforced, free, warned, gpus, broken, audited, ...cases.map(caseNamespace)],
  crdGroup: golden,
  async setup(c) {
    for (const [namespace, label] of [[enforced, 'enforced'], [warned, 'warned'], [gpus, 'gpus'], [broken, 'broken'], [audited, 'audited']]) {
      await c.ok('admin', ['label', 'namespace', namespace!, `vap-e2e=${label}`]);
    }
    for (const item of cases) await c.ok('admin', ['label', 'namespace', caseNamespace(item), `vap-e2e-case=${item.name}`]);
    const paramsNamespace = 'vap-case-params-selector';
    for (const [name, forbidden, selected] of [['cm-a', 'other', true], ['cm-b', 'probe', true], ['cm-c', 'probe', false]] as const) {
      await c.ok('admin', ['create', 'configmap', name, '-n', paramsNamespace, `--from-literal=forbidden=${forbidden}`]);
      if (selected) await c.ok('admin', ['label', 'configmap', name, '-n', paramsNamespace, 'vap-e2e-param=selected']);
    }
    for (const group of [ours, golden]) {
      await c.ok('admin', ['create', '-n', 'vap-case-delete', '-f', '-'], forGroup(notebookYaml('victim'), group));
    }
  },
});

const policies = ['vap-e2e-cost-center', 'vap-e2e-max-gpus', 'vap-e2e-broken', 'vap-e2e-audit', ...cases.map((c) => `vap-e2e-case-${c.name}`)];

before(async () => void (cluster = await bed.ready()));
after(async () => {
  // The control plane is shared with the suites that run after this one.
  if (cluster) {
    await cluster.ok('admin', ['delete', 'validatingadmissionpolicybinding', '-l', 'vap-e2e', '--ignore-not-found']);
    for (const name of policies) await cluster.ok('admin', ['delete', 'validatingadmissionpolicy', name, '--ignore-not-found']);
  }
  await bed.stop();
  rmSync(auditDir, { recursive: true, force: true });
});

/** The same manifest for the other group, and a text with either group named alike. */
const forGroup = (text: string, group: string): string => text.replaceAll(ours, group);
const neutral = (text: string): string => text.replaceAll(golden, 'GROUP').replaceAll(ours, 'GROUP');

interface Answer {
  code: number;
  body: unknown;
  warnings: string[];
}

/** A server-side dry-run create through kube-apiserver: the policy applies, nothing is stored. */
async function create(group: string, namespace: string, resource: string, object: Record<string, unknown>): Promise<Answer> {
  const body = JSON.stringify({ ...object, apiVersion: `${group}/v1alpha1` });
  const res = await cluster.request('admin', 'POST', `/apis/${group}/v1alpha1/namespaces/${namespace}/${resource}?dryRun=All`, body, {
    'content-type': 'application/json',
  });
  const warning = res.headers.warning;
  const warnings = (Array.isArray(warning) ? warning : warning ? [warning] : []).map(neutral);
  const parsed = JSON.parse(res.body) as Record<string, any>;
  // A created object's identity and times differ by nature; a refusal is compared whole.
  const shown = parsed.kind === 'Status' ? parsed : { kind: parsed.kind, labels: parsed.metadata?.labels ?? null };
  return { code: res.status, body: JSON.parse(neutral(JSON.stringify(shown))), warnings };
}

/** A server-side dry-run delete through kube-apiserver, answered like a create. */
async function remove(group: string, namespace: string, resource: string, name: string): Promise<Answer> {
  const res = await cluster.request('admin', 'DELETE', `/apis/${group}/v1alpha1/namespaces/${namespace}/${resource}/${name}?dryRun=All`);
  const parsed = JSON.parse(res.body) as Record<string, any>;
  const shown = parsed.kind === 'Status' ? parsed : { kind: parsed.kind };
  return { code: res.status, body: JSON.parse(neutral(JSON.stringify(shown))), warnings: [] };
}

/**
 * Sends the request to the CRD until `effective` says kube-apiserver applies the policy, then to this server until it
 * does too, and asserts both answers are the same.
 */
async function compare(namespace: string, resource: string, object: Record<string, unknown>, effective: (a: Answer) => boolean): Promise<Answer> {
  const crd = await eventually(() => create(golden, namespace, resource, object), effective, `kube-apiserver to apply the policy to ${resource}.${golden}`, 120_000);
  const mine = await eventually(() => create(ours, namespace, resource, object), effective, `this server to apply the policy to ${resource}.${ours}`, 120_000);
  assert.deepEqual(mine, crd);
  return mine;
}

/** kubectl's own rendering of a dry-run create, with the group's name made neutral. */
async function kubectlCreate(group: string, namespace: string, manifest: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const res = await cluster.kubectl('admin', ['create', '--dry-run=server', '-n', namespace, '-f', '-'], forGroup(manifest, group));
  return { code: res.code, stdout: neutral(res.stdout), stderr: neutral(res.stderr) };
}

async function compareKubectl(namespace: string, manifest: string, effective: (r: { code: number; stderr: string }) => boolean): Promise<{ code: number; stdout: string; stderr: string }> {
  const crd = await eventually(() => kubectlCreate(golden, namespace, manifest), effective, 'kubectl to show the policy at work on the CRD', 120_000);
  const mine = await eventually(() => kubectlCreate(ours, namespace, manifest), effective, 'kubectl to show the policy at work on this server', 120_000);
  assert.deepEqual(mine, crd);
  return mine;
}

const apply = (yaml: string): Promise<string> => cluster.ok('admin', ['apply', '-f', '-'], yaml);

const notebook = (name: string, labels?: Record<string, string>): Record<string, unknown> => ({
  kind: 'Notebook',
  metadata: { name, ...(labels ? { labels } : {}) },
  spec: { template: { spec: { containers: [{ name: 'notebook', image: 'jupyter/base-notebook' }] } }, workspace: { size: '1Gi' } },
});

const job = (name: string, gpusPerRank: string): Record<string, unknown> => ({
  kind: 'Job',
  metadata: { name },
  spec: {
    replicas: 2,
    template: {
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'trainer', image: 'pytorch/pytorch', resources: { limits: { 'nvidia.com/gpu': gpusPerRank } } }],
      },
    },
  },
});

const greedyJobYaml = `apiVersion: ${ours}/v1alpha1
kind: Job
metadata:
  name: greedy
spec:
  replicas: 2
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: trainer
          image: pytorch/pytorch
          resources:
            limits:
              nvidia.com/gpu: "8"
`;

describe('ValidatingAdmissionPolicy', () => {
  it('a policy bound to labelled namespaces denies a notebook without cost-center there, as kube-apiserver does, and allows it elsewhere', async () => {
    await apply(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: vap-e2e-cost-center
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: ["${ours}", "${golden}"]
        apiVersions: ["v1alpha1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["notebooks"]
  validations:
    - expression: "has(object.metadata.labels) && 'cost-center' in object.metadata.labels"
      message: notebooks must carry a cost-center label
      reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: vap-e2e-cost-center-deny
  labels: { vap-e2e: "true" }
spec:
  policyName: vap-e2e-cost-center
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: { vap-e2e: enforced }
`);
    const denied = await compare(enforced, 'notebooks', notebook('unlabelled'), (a) => a.code !== 201);
    assert.equal(denied.code, 403);
    assert.match(JSON.stringify(denied.body), /ValidatingAdmissionPolicy 'vap-e2e-cost-center' with binding 'vap-e2e-cost-center-deny' denied request: notebooks must carry a cost-center label/);

    // kubectl prints the refusal the same way for both.
    const printed = await compareKubectl(enforced, notebookYaml('unlabelled'), (r) => r.code !== 0);
    assert.match(printed.stderr, /denied request: notebooks must carry a cost-center label/);

    // kube's check counter, labelled as kube labels it (a plain refusal counts as invalid_error there too).
    const metrics = await cluster.direct('/metrics', { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' }, cluster.frontProxyClient);
    assert.match(
      metrics.body,
      /apiserver_validating_admission_policy_check_total\{policy="vap-e2e-cost-center",policy_binding="vap-e2e-cost-center-deny",error_type="invalid_error",enforcement_action="deny"\} [1-9]/,
    );

    const labelled = await compare(enforced, 'notebooks', notebook('labelled', { 'cost-center': 'ml-research' }), (a) => a.code === 201);
    assert.deepEqual(labelled.warnings, []);
    const elsewhere = await compare(free, 'notebooks', notebook('unlabelled'), (a) => a.code === 201);
    assert.equal(elsewhere.code, 201);
  });

  it('a Warn binding lets the notebook in with the warning kubectl prints, worded as kube-apiserver words it', async () => {
    await apply(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: vap-e2e-cost-center-warn
  labels: { vap-e2e: "true" }
spec:
  policyName: vap-e2e-cost-center
  validationActions: [Warn]
  matchResources:
    namespaceSelector:
      matchLabels: { vap-e2e: warned }
`);
    const warned_ = await compare(warned, 'notebooks', notebook('unlabelled'), (a) => a.warnings.length > 0);
    assert.equal(warned_.code, 201);
    const printed = await compareKubectl(warned, notebookYaml('unlabelled'), (r) => r.stderr.includes('Warning:'));
    assert.equal(printed.code, 0);
    assert.match(
      printed.stderr,
      /Warning: Validation failed for ValidatingAdmissionPolicy 'vap-e2e-cost-center' with binding 'vap-e2e-cost-center-warn': notebooks must carry a cost-center label/,
    );
  });

  it('a paramRef reads the GPU limit from a ConfigMap and quantity() compares it: jobs may not request more than the limit', async () => {
    await cluster.ok('admin', ['create', 'configmap', 'gpu-limits', '-n', gpus, '--from-literal=maxGpus=4']);
    await apply(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: vap-e2e-max-gpus
spec:
  failurePolicy: Fail
  paramKind:
    apiVersion: v1
    kind: ConfigMap
  matchConstraints:
    resourceRules:
      - apiGroups: ["${ours}", "${golden}"]
        apiVersions: ["v1alpha1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["jobs"]
  variables:
    - name: limit
      expression: "quantity(params.data.maxGpus)"
    - name: gpus
      expression: "object.spec.template.spec.containers.map(c, has(c.resources) && has(c.resources.limits) && 'nvidia.com/gpu' in c.resources.limits ? string(c.resources.limits['nvidia.com/gpu']) : '0')"
  validations:
    - expression: "variables.gpus.all(g, !quantity(g).isGreaterThan(variables.limit))"
      messageExpression: "'jobs may not request more than ' + params.data.maxGpus + ' GPUs per rank'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: vap-e2e-max-gpus
  labels: { vap-e2e: "true" }
spec:
  policyName: vap-e2e-max-gpus
  validationActions: [Deny]
  paramRef:
    name: gpu-limits
    parameterNotFoundAction: Deny
  matchResources:
    namespaceSelector:
      matchLabels: { vap-e2e: gpus }
`);
    const denied = await compare(gpus, 'jobs', job('greedy', '8'), (a) => a.code !== 201);
    assert.equal(denied.code, 422);
    assert.match(JSON.stringify(denied.body), /denied request: jobs may not request more than 4 GPUs per rank/);
    const modest = await compare(gpus, 'jobs', job('modest', '4000m'), (a) => a.code === 201);
    assert.equal(modest.code, 201);
    const printed = await compareKubectl(gpus, greedyJobYaml, (r) => r.code !== 0);
    assert.match(printed.stderr, /jobs may not request more than 4 GPUs per rank/);

    // Without the ConfigMap, parameterNotFoundAction Deny refuses every job, in kube's words.
    await cluster.ok('admin', ['delete', 'configmap', 'gpu-limits', '-n', gpus]);
    const noParams = await compare(gpus, 'jobs', job('modest', '1'), (a) => a.code !== 201);
    assert.match(JSON.stringify(noParams.body), /failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction/);
  });

  it('a policy that does not compile is refused by kube-apiserver; one that fails at run time refuses the request as kube does', async () => {
    const policy = (expression: string): string => `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: vap-e2e-broken
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: ["${ours}", "${golden}"]
        apiVersions: ["v1alpha1"]
        operations: ["CREATE"]
        resources: ["notebooks"]
  validations:
    - expression: ${JSON.stringify(expression)}
`;
    // kube-apiserver compiles every expression when the policy is written: one that does not compile never reaches
    // an admission plugin, kube's or this server's.
    const refused = await cluster.kubectl('admin', ['apply', '-f', '-'], policy('object.metadata.name =='));
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /compilation failed/);
    // What this server's compiler says of an expression kube's refuses is the detail kube-apiserver gives: a
    // policy without paramKind has no params. (Such a policy, were it stored, would refuse with "compilation error: "
    // and that detail.)
    const undeclared = await cluster.kubectl('admin', ['apply', '-f', '-'], policy('params.maxGpus > 1'));
    assert.notEqual(undeclared.code, 0);
    const compiled = compilePolicy(parse(policy('params.maxGpus > 1')) as ValidatingAdmissionPolicy).validations[0]!.compiled;
    assert.ok(compiled.error !== undefined && undeclared.stderr.includes(`Invalid value: "params.maxGpus > 1": ${compiled.error}`), undeclared.stderr);

    // One that compiles but fails on these objects (a string compared with an int) is an error under failurePolicy Fail.
    await apply(`${policy('object.spec.workspace.size > 5')}---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: vap-e2e-broken
  labels: { vap-e2e: "true" }
spec:
  policyName: vap-e2e-broken
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: { vap-e2e: broken }
`);
    const failed = await compare(broken, 'notebooks', notebook('any'), (a) => a.code !== 201);
    assert.equal(failed.code, 422);
    assert.match(JSON.stringify(failed.body), /expression 'object.spec.workspace.size > 5' resulted in error: no such overload/);
  });

  it('an Audit binding and auditAnnotations annotate the request\'s audit event as kube-apiserver annotates its own', async () => {
    await apply(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: vap-e2e-audit
spec:
  matchConstraints:
    resourceRules:
      - apiGroups: ["${ours}", "${golden}"]
        apiVersions: ["v1alpha1"]
        operations: ["CREATE"]
        resources: ["notebooks"]
  validations:
    - expression: "object.metadata.name.startsWith('ok-')"
      messageExpression: "'notebook ' + object.metadata.name + ' is not named ok-*'"
  auditAnnotations:
    - key: workspace
      valueExpression: "string(object.spec.workspace.size)"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: vap-e2e-audit
  labels: { vap-e2e: "true" }
spec:
  policyName: vap-e2e-audit
  validationActions: [Audit]
  matchResources:
    namespaceSelector:
      matchLabels: { vap-e2e: audited }
`);
    type Event = { verb: string; objectRef?: { apiGroup?: string; namespace?: string }; annotations?: Record<string, string> };
    const readEvents = (path: string): Event[] =>
      existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Event) : [];
    /** What the policy added to the events of creates in the namespace: its annotations, the group made neutral. */
    const annotated = (path: string, group: string): Record<string, string>[] =>
      readEvents(path)
        .filter((e) => e.verb === 'create' && e.objectRef?.apiGroup === group && e.objectRef.namespace === audited)
        .map((e) => Object.fromEntries(Object.entries(e.annotations ?? {}).filter(([k]) => k.startsWith('vap-e2e-audit/') || k.startsWith('validation.policy.'))))
        .filter((a) => Object.keys(a).length > 0)
        .map((a) => JSON.parse(neutral(JSON.stringify(a))) as Record<string, string>);
    // Audit refuses nothing: each side's log shows when it applies the policy.
    const theirs = await eventually(
      async () => {
        assert.equal((await create(golden, audited, 'notebooks', notebook('bad-name'))).code, 201);
        return annotated(cluster.auditLogPath, golden);
      },
      (a) => a.length > 0,
      'kube-apiserver to annotate a create with the policy',
      120_000,
    );
    const mine = await eventually(
      async () => {
        assert.equal((await create(ours, audited, 'notebooks', notebook('bad-name'))).code, 201);
        return annotated(auditLog, ours);
      },
      (a) => a.length > 0,
      'this server to annotate a create with the policy',
      120_000,
    );
    assert.deepEqual(mine[0], theirs[0]);
    assert.equal(mine[0]!['vap-e2e-audit/workspace'], '1Gi');
  });

  it('matchConditions, failurePolicy, reasons, messages, variables, request, namespaceObject and params each answer as kube-apiserver answers', async () => {
    const documents = cases.flatMap((c) => [
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: `vap-e2e-case-${c.name}` },
        spec: {
          // A policy's configuration error refuses whatever its matchConstraints select, bound or not: each case keeps
          // to its namespace, so that every request meets one policy only (kube's order among policies is a map's).
          matchConstraints: {
            resourceRules: [{ apiGroups: [ours, golden], apiVersions: ['v1alpha1'], operations: [c.deletes ? 'DELETE' : 'CREATE'], resources: ['notebooks'] }],
            namespaceSelector: { matchLabels: { 'vap-e2e-case': c.name } },
          },
          ...c.spec,
        },
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name: `vap-e2e-case-${c.name}`, labels: { 'vap-e2e': 'true' } },
        spec: {
          policyName: `vap-e2e-case-${c.name}`,
          validationActions: ['Deny'],
          ...(Object.hasOwn(bindingParams, c.name) ? { paramRef: bindingParams[c.name] } : {}),
          matchResources: { namespaceSelector: { matchLabels: { 'vap-e2e-case': c.name } } },
        },
      },
    ]);
    await apply(documents.map((d) => stringify(d)).join('---\n'));
    const sentinel = cases.at(-1)!;
    await compare(caseNamespace(sentinel), 'notebooks', notebook('probe'), (a) => a.code !== 201);
    const differences: string[] = [];
    for (const c of cases) {
      const expected = (a: Answer): boolean => (a.code !== 201) === c.refused;
      const send = (group: string): Promise<Answer> =>
        c.deletes ? remove(group, caseNamespace(c), 'notebooks', 'victim') : create(group, caseNamespace(c), 'notebooks', notebook('probe'));
      const crd = await eventually(() => send(golden), expected, `kube-apiserver on case ${c.name}`, 60_000);
      const mine = await eventually(() => send(ours), expected, `this server on case ${c.name}`, 60_000);
      if (!isDeepStrictEqual(mine, crd)) differences.push(`${c.name}:\n  ours ${JSON.stringify(mine)}\n  kube ${JSON.stringify(crd)}`);
    }
    assert.deepEqual(differences, []);
  });
});
