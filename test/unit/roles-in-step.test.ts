// The aggregated ClusterRoles are generated from the list of resources; this fails when someone adds a resource or
// a subresource without regenerating them, or edits the file by hand.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { generateRoles } from '../../scripts/generate-roles.js';
import type { GeneratedResource } from '../../scripts/resource-list.js';

it('deploy/base/aggregated-roles.yaml is what scripts/generate-roles.ts makes of the resources', () => {
  const committed = readFileSync(new URL('../../deploy/base/aggregated-roles.yaml', import.meta.url), 'utf8');
  assert.ok(committed === generateRoles(), 'aggregated-roles.yaml is stale: run `npm run generate`');
});

interface Role {
  metadata: { name: string; labels: Record<string, string> };
  rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
}

/** Every (resource, verb) a role grants, as "widgets/scale get". */
function grants(role: Role): string[] {
  return role.rules.flatMap((rule) => rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${resource} ${verb}`))).sort();
}

it('a new resource gets the object verbs in edit, reads in view, and its status, scale and connect subresources by what they do', () => {
  const widget: GeneratedResource = {
    group: 'widgets.example.io',
    version: 'v1',
    kind: 'Widget',
    listKind: 'WidgetList',
    resource: 'widgets',
    namespaced: true,
    subresources: ['status', 'scale'],
    connect: [
      { name: 'exec', verbs: ['create', 'get'] },
      { name: 'log', verbs: ['get'] },
    ],
    schemaName: 'io.example.widgets.v1.Widget',
  };
  const [edit, view] = parseAllDocuments(generateRoles([widget])).map((doc) => doc.toJS() as Role);
  assert.equal(edit!.metadata.name, 'widgets-example-io:edit');
  assert.deepEqual(edit!.metadata.labels, { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true', 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' });
  assert.deepEqual(view!.metadata.labels, { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' });
  for (const role of [edit!, view!]) assert.ok(role.rules.every((rule) => rule.apiGroups.length === 1 && rule.apiGroups[0] === 'widgets.example.io'));
  assert.deepEqual(grants(edit!), [
    'widgets create', 'widgets delete', 'widgets deletecollection', 'widgets get', 'widgets list', 'widgets patch', 'widgets update', 'widgets watch',
    'widgets/exec create', 'widgets/exec get', 'widgets/log get', 'widgets/scale get', 'widgets/scale patch', 'widgets/scale update', 'widgets/status get',
  ]);
  assert.deepEqual(grants(view!), [
    'widgets get', 'widgets list', 'widgets watch', 'widgets/log get',
    'widgets/scale get', 'widgets/scale list', 'widgets/scale watch', 'widgets/status get', 'widgets/status list', 'widgets/status watch',
  ]);
});
