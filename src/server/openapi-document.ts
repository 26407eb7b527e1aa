// Builds the OpenAPI v3 (per group-version) and v2 documents of the group from the resources' strategies and
// their JSON Schemas. Kubernetes' own definitions are reused under their canonical names with identical content, so the
// aggregator merges them without renaming. Only what is implemented is advertised: JSON, merge and apply
// patches, no strategic merge patch.
import type { JsonSchema } from '../api/v1alpha1/schemas.js';
import type { Strategy } from '../registry/strategy.js';
import { subresourceShape } from '../registry/subresources.js';

export const kubernetesVersion = 'v1.32.2';
const meta = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

/** The one group-version the resources are served in. */
export function groupVersionOf(resources: readonly Strategy[]): { group: string; version: string } {
  const first = resources[0];
  if (!first) throw new Error('no resources to describe');
  const { group, version } = first.info;
  if (resources.some((r) => r.info.group !== group || r.info.version !== version)) throw new Error('resources of more than one group-version');
  return { group, version };
}

/** The list kind's component: the kind's own name with its list kind in place of the kind. */
const listSchemaName = ({ info, schemaName }: Strategy): string => `${schemaName.slice(0, schemaName.length - info.kind.length)}${info.listKind}`;

function componentsOf(resources: readonly Strategy[]): Record<string, JsonSchema> {
  return Object.assign({}, ...resources.map((r) => r.schemas)) as Record<string, JsonSchema>;
}

const tagOf = (resources: readonly Strategy[]): string => {
  const { group, version } = groupVersionOf(resources);
  return `${group.split('.').join('')}_${version}`;
};

interface Param {
  name: string;
  in: 'path' | 'query';
  description: string;
  type: 'string' | 'integer' | 'boolean';
  required?: boolean;
}

const p = (name: string, description: string, type: Param['type'] = 'string', where: Param['in'] = 'query'): Param => ({
  name,
  in: where,
  description,
  type,
  ...(where === 'path' ? { required: true } : {}),
});

const params = {
  namespace: p('namespace', 'object name and auth scope, such as for teams and projects', 'string', 'path'),
  name: p('name', 'name of the object', 'string', 'path'),
  pretty: p('pretty', "If 'true', then the output is pretty printed."),
  dryRun: p('dryRun', 'When present, indicates that modifications should not be persisted. The only valid value is All.'),
  fieldManager: p('fieldManager', 'A name associated with the actor or entity that is making these changes.'),
  fieldValidation: p(
    'fieldValidation',
    'How to handle unknown or duplicate fields in the request body: Ignore, Warn (the default) or Strict.',
  ),
  allowWatchBookmarks: p('allowWatchBookmarks', 'Requests watch events with type "BOOKMARK".', 'boolean'),
  continue: p('continue', 'The continue option should be set when retrieving more results from the server.'),
  fieldSelector: p('fieldSelector', 'A selector to restrict the list of returned objects by their fields.'),
  labelSelector: p('labelSelector', 'A selector to restrict the list of returned objects by their labels.'),
  limit: p('limit', 'limit is a maximum number of responses to return for a list call.', 'integer'),
  resourceVersion: p('resourceVersion', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
  resourceVersionMatch: p('resourceVersionMatch', 'resourceVersionMatch determines how resourceVersion is applied to list calls.'),
  sendInitialEvents: p('sendInitialEvents', 'Send synthetic events for the current state, then a bookmark, before the watch.', 'boolean'),
  timeoutSeconds: p('timeoutSeconds', 'Timeout for the list/watch call.', 'integer'),
  watch: p('watch', 'Watch for changes to the described resources.', 'boolean'),
  gracePeriodSeconds: p('gracePeriodSeconds', 'The duration in seconds before the object should be deleted.', 'integer'),
  propagationPolicy: p('propagationPolicy', "Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'."),
  orphanDependents: p('orphanDependents', 'Deprecated: use propagationPolicy.', 'boolean'),
  force: p('force', 'Force is going to "force" Apply requests: the applier takes fields other managers own. Only for apply patches.', 'boolean'),
};

const listParams = [
  params.allowWatchBookmarks,
  params.continue,
  params.fieldSelector,
  params.labelSelector,
  params.limit,
  params.resourceVersion,
  params.resourceVersionMatch,
  params.sendInitialEvents,
  params.timeoutSeconds,
  params.watch,
];
const writeParams = [params.dryRun, params.fieldManager, params.fieldValidation];
const deleteParams = [params.dryRun, params.gracePeriodSeconds, params.orphanDependents, params.propagationPolicy];
const patchTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
const patchParams = [...writeParams, params.force];

interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head' | 'options';
  action: string;
  operationId: string;
  description: string;
  params: Param[];
  body?: string;
  bodyTypes?: string[];
  /** Schema name of the response; empty for a connect subresource, whose answer is whatever the far end sends. */
  response: string;
  created?: boolean;
  gvk: { group: string; version: string; kind: string };
  watchable?: boolean;
}

interface PathItem {
  path: string;
  params: Param[];
  operations: Operation[];
}

function pathItems(resources: readonly Strategy[]): PathItem[] {
  const { group, version } = groupVersionOf(resources);
  const groupPath = `/apis/${group}/${version}`;
  const idPart = `${group.split('.').map((s) => s[0]!.toUpperCase() + s.slice(1)).join('')}${version[0]!.toUpperCase()}${version.slice(1)}`;
  const items: PathItem[] = [];
  for (const strategy of resources) {
    const info = strategy.info;
    const gvk = { group: info.group, version: info.version, kind: info.kind };
    const ref = strategy.schemaName;
    const listRef = listSchemaName(strategy);
    const id = (verb: string, suffix = ''): string => `${verb}${idPart}Namespaced${info.kind}${suffix}`;
    items.push({
      path: `${groupPath}/namespaces/{namespace}/${info.resource}`,
      params: [params.namespace, params.pretty],
      operations: [
        { method: 'get', action: 'list', operationId: id('list'), description: `list or watch objects of kind ${info.kind}`, params: listParams, response: listRef, gvk, watchable: true },
        { method: 'post', action: 'post', operationId: id('create'), description: `create a ${info.kind}`, params: writeParams, body: ref, response: ref, created: true, gvk },
        {
          method: 'delete',
          action: 'deletecollection',
          operationId: id('deleteCollection'),
          description: `delete collection of ${info.kind}`,
          params: [...listParams.filter((x) => x.name !== 'watch' && x.name !== 'allowWatchBookmarks'), ...deleteParams],
          body: `${meta}DeleteOptions`,
          response: `${meta}Status`,
          gvk,
        },
      ],
    });
    items.push({
      path: `${groupPath}/namespaces/{namespace}/${info.resource}/{name}`,
      params: [params.name, params.namespace, params.pretty],
      operations: [
        { method: 'get', action: 'get', operationId: id('read'), description: `read the specified ${info.kind}`, params: [], response: ref, gvk },
        { method: 'put', action: 'put', operationId: id('replace'), description: `replace the specified ${info.kind}`, params: writeParams, body: ref, response: ref, gvk },
        {
          method: 'patch',
          action: 'patch',
          operationId: id('patch'),
          description: `partially update the specified ${info.kind}`,
          params: patchParams,
          body: `${meta}Patch`,
          bodyTypes: patchTypes,
          response: ref,
          gvk,
        },
        { method: 'delete', action: 'delete', operationId: id('delete'), description: `delete a ${info.kind}`, params: deleteParams, body: `${meta}DeleteOptions`, response: ref, gvk },
      ],
    });
    for (const sub of info.subresources) {
      const { schemaName: subRef, gvk: subGvk } = subresourceShape(strategy, sub);
      const suffix = sub[0]!.toUpperCase() + sub.slice(1);
      items.push({
        path: `${groupPath}/namespaces/{namespace}/${info.resource}/{name}/${sub}`,
        params: [params.name, params.namespace, params.pretty],
        operations: [
          { method: 'get', action: 'get', operationId: id('read', suffix), description: `read ${sub} of the specified ${info.kind}`, params: [], response: subRef, gvk: subGvk },
          { method: 'put', action: 'put', operationId: id('replace', suffix), description: `replace ${sub} of the specified ${info.kind}`, params: writeParams, body: subRef, response: subRef, gvk: subGvk },
          {
            method: 'patch',
            action: 'patch',
            operationId: id('patch', suffix),
            description: `partially update ${sub} of the specified ${info.kind}`,
            params: patchParams,
            body: `${meta}Patch`,
            bodyTypes: patchTypes,
            response: subRef,
            gvk: subGvk,
          },
        ],
      });
    }
    for (const sub of info.connect ?? []) {
      const query = sub.query.map((q) => p(q.name, q.description, q.type));
      const connectGvk = { group: info.group, version: info.version, kind: sub.kind };
      const suffix = sub.name[0]!.toUpperCase() + sub.name.slice(1);
      const operations = (withPath: boolean): Operation[] =>
        sub.methods.map((m) => ({
          method: m.toLowerCase() as Operation['method'],
          action: 'connect',
          operationId: `connect${m[0]}${m.slice(1).toLowerCase()}${idPart}Namespaced${info.kind}${suffix}${withPath ? 'WithPath' : ''}`,
          description: `${m} ${sub.name} of ${info.kind}: ${sub.description}`,
          params: query,
          response: '',
          gvk: connectGvk,
        }));
      const at = `${groupPath}/namespaces/{namespace}/${info.resource}/{name}/${sub.name}`;
      items.push({ path: at, params: [params.name, params.namespace], operations: operations(false) });
      if (sub.path) {
        const path = p('path', 'path to the resource', 'string', 'path');
        items.push({ path: `${at}/{path}`, params: [params.name, params.namespace, path], operations: operations(true) });
      }
    }
    items.push({
      path: `${groupPath}/${info.resource}`,
      params: [params.pretty],
      operations: [
        {
          method: 'get',
          action: 'list',
          operationId: `list${idPart}${info.kind}ForAllNamespaces`,
          description: `list or watch objects of kind ${info.kind} in every namespace`,
          params: listParams,
          response: listRef,
          gvk,
          watchable: true,
        },
      ],
    });
  }
  return items;
}

function listSchemas(resources: readonly Strategy[]): Record<string, JsonSchema> {
  return Object.fromEntries(
    resources.map((strategy) => [
      listSchemaName(strategy),
      {
        type: 'object',
        description: `${strategy.info.listKind} is a list of ${strategy.info.kind}.`,
        required: ['items'],
        properties: {
          apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
          kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
          items: { type: 'array', description: `List of ${strategy.info.resource}.`, items: { $ref: `#/components/schemas/${strategy.schemaName}` } },
          metadata: { $ref: `#/components/schemas/${meta}ListMeta`, description: 'Standard list metadata.' },
        },
        'x-kubernetes-group-version-kind': [{ group: strategy.info.group, version: strategy.info.version, kind: strategy.info.listKind }],
      },
    ]),
  );
}

/** The responses of an operation, in either version's shape of one response (`response`). */
function responsesOf(op: Operation, response: Record<string, unknown>): Record<string, unknown> {
  return {
    '200': { description: 'OK', ...response },
    ...(op.created ? { '201': { description: 'Created', ...response }, '202': { description: 'Accepted', ...response } } : {}),
    '401': { description: 'Unauthorized' },
  };
}

const sortObject = <T>(record: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.keys(record).sort().map((k) => [k, record[k]!]));

export function openApiV3(resources: readonly Strategy[]): Record<string, unknown> {
  const schemaRef = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
  const v3Param = (x: Param): Record<string, unknown> => ({
    name: x.name,
    in: x.in,
    description: x.description,
    ...(x.required ? { required: true } : {}),
    schema: { type: x.type, uniqueItems: true },
  });
  const paths: Record<string, unknown> = {};
  for (const item of pathItems(resources)) {
    const entry: Record<string, unknown> = { parameters: item.params.map(v3Param) };
    for (const op of item.operations) {
      const produces = op.response === '' ? ['*/*'] : op.watchable ? ['application/json', 'application/json;stream=watch'] : ['application/json'];
      const schema = op.response === '' ? { type: 'string' } : schemaRef(op.response);
      const response = { content: Object.fromEntries(produces.map((t) => [t, { schema }])) };
      entry[op.method] = {
        tags: [tagOf(resources)],
        description: op.description,
        operationId: op.operationId,
        parameters: op.params.map(v3Param),
        ...(op.body
          ? {
              requestBody: {
                content: Object.fromEntries((op.bodyTypes ?? ['*/*']).map((t) => [t, { schema: schemaRef(op.body!) }])),
                ...(op.method === 'delete' ? {} : { required: true }),
              },
            }
          : {}),
        responses: responsesOf(op, response),
        'x-kubernetes-action': op.action,
        'x-kubernetes-group-version-kind': op.gvk,
      };
    }
    paths[item.path] = entry;
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: kubernetesVersion },
    paths,
    components: { schemas: sortObject({ ...componentsOf(resources), ...listSchemas(resources) }) },
  };
}

export function openApiV2(resources: readonly Strategy[]): Record<string, unknown> {
  const v2Param = (x: Param): Record<string, unknown> => ({
    name: x.name,
    in: x.in,
    description: x.description,
    ...(x.required ? { required: true } : {}),
    type: x.type,
    uniqueItems: true,
  });
  const paths: Record<string, unknown> = {};
  for (const item of pathItems(resources)) {
    const entry: Record<string, unknown> = { parameters: item.params.map(v2Param) };
    for (const op of item.operations) {
      const response = { schema: op.response === '' ? { type: 'string' } : { $ref: `#/definitions/${op.response}` } };
      entry[op.method] = {
        description: op.description,
        consumes: op.bodyTypes ?? ['*/*'],
        produces: op.response === '' ? ['*/*'] : op.watchable ? ['application/json', 'application/json;stream=watch'] : ['application/json'],
        schemes: ['https'],
        tags: [tagOf(resources)],
        operationId: op.operationId,
        parameters: [
          ...(op.body ? [{ name: 'body', in: 'body', ...(op.method === 'delete' ? {} : { required: true }), schema: { $ref: `#/definitions/${op.body}` } }] : []),
          ...op.params.map(v2Param),
        ],
        responses: responsesOf(op, response),
        'x-kubernetes-action': op.action,
        'x-kubernetes-group-version-kind': op.gvk,
      };
    }
    paths[item.path] = entry;
  }
  const definitions = JSON.parse(
    JSON.stringify(sortObject({ ...componentsOf(resources), ...listSchemas(resources) })).replaceAll('#/components/schemas/', '#/definitions/'),
  ) as Record<string, unknown>;
  for (const [name, schema] of Object.entries(definitions)) if (name.startsWith('io.k8s.')) definitions[name] = asKubernetesV2(schema);
  return { swagger: '2.0', info: { title: 'Kubernetes', version: kubernetesVersion }, paths, definitions };
}

/**
 * One of Kubernetes' own definitions as kube-apiserver's /openapi/v2 has it, from its v3 form: a lone `allOf` of a
 * `$ref` is that `$ref` beside its description, no defaults, and Quantity and IntOrString are strings (Swagger 2.0
 * has no oneOf). Identical definitions are merged by the aggregator under one name; a oneOf in any of them made
 * kube-apiserver refuse its whole aggregated /openapi/v2 with a 503, which kubectl's validation falls back to while
 * the aggregator has not loaded this server's v3 document.
 */
function asKubernetesV2(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(asKubernetesV2);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) if (key !== 'default') out[key] = asKubernetesV2(value);
  const allOf = out.allOf as Record<string, unknown>[] | undefined;
  if (allOf?.length === 1 && Object.keys(allOf[0]!).length === 1 && typeof allOf[0]!.$ref === 'string') {
    delete out.allOf;
    out.$ref = allOf[0]!.$ref;
  }
  if (out.oneOf !== undefined) {
    delete out.oneOf;
    out.type = 'string';
  }
  return out;
}
