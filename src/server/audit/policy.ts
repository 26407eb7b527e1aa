// kube's audit.k8s.io/v1 Policy: read and validated once at startup, then asked per request which level (and which
// stages, and whether managedFields) an event gets. The first rule that matches decides, as k8s.io/apiserver's
// policy checker does; no rule matching means None.
import { parse } from 'yaml';

export const levels = ['None', 'Metadata', 'Request', 'RequestResponse'] as const;
export type Level = (typeof levels)[number];
export const stages = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'] as const;
export type Stage = (typeof stages)[number];

interface GroupResources {
  group: string;
  resources: string[];
  resourceNames: string[];
}

interface PolicyRule {
  level: Level;
  users: string[];
  userGroups: string[];
  verbs: string[];
  resources: GroupResources[];
  namespaces: string[];
  nonResourceURLs: string[];
  omitStages: Stage[];
  omitManagedFields: boolean | undefined;
}

export interface Policy {
  rules: PolicyRule[];
  omitStages: Stage[];
  omitManagedFields: boolean;
}

/** What the policy checker is asked about: kube's authorizer.Attributes, as far as audit reads them. */
export type AuditAttributes = {
  user: { name: string; groups: readonly string[] };
  verb: string;
} & (
  | { resourceRequest: true; group: string; resource: string; subresource: string; namespace: string; name: string }
  | { resourceRequest: false; path: string }
);

/** The level a request gets, and what the matching rule (or the policy) leaves out of its events. */
export interface RequestAuditConfig {
  level: Level;
  omitStages: ReadonlySet<Stage>;
  omitManagedFields: boolean;
}

const none: RequestAuditConfig = { level: 'None', omitStages: new Set(), omitManagedFields: false };

export function levelAtLeast(level: Level, than: Level): boolean {
  return levels.indexOf(level) >= levels.indexOf(than);
}

export class AuditPolicy {
  constructor(private readonly policy: Policy) {}

  evaluate(attrs: AuditAttributes): RequestAuditConfig {
    const rule = this.policy.rules.find((r) => ruleMatches(r, attrs));
    if (!rule) return none;
    return {
      level: rule.level,
      omitStages: new Set([...this.policy.omitStages, ...rule.omitStages]),
      omitManagedFields: rule.omitManagedFields ?? this.policy.omitManagedFields,
    };
  }
}

function ruleMatches(r: PolicyRule, attrs: AuditAttributes): boolean {
  if (r.users.length > 0 && !r.users.includes(attrs.user.name)) return false;
  if (r.userGroups.length > 0 && !attrs.user.groups.some((g) => r.userGroups.includes(g))) return false;
  if (r.verbs.length > 0 && !r.verbs.includes(attrs.verb)) return false;
  // A rule naming resources or namespaces is about resource requests only; one naming URLs about the others.
  if (r.namespaces.length > 0 || r.resources.length > 0) return resourceMatches(r, attrs);
  if (r.nonResourceURLs.length > 0) return nonResourceMatches(r, attrs);
  return true;
}

function resourceMatches(r: PolicyRule, attrs: AuditAttributes): boolean {
  if (!attrs.resourceRequest) return false;
  // Cluster-scoped requests have the namespace "", which a rule may list.
  if (r.namespaces.length > 0 && !r.namespaces.includes(attrs.namespace)) return false;
  if (r.resources.length === 0) return true;
  const combined = attrs.subresource === '' ? attrs.resource : `${attrs.resource}/${attrs.subresource}`;
  for (const gr of r.resources) {
    if (gr.group !== attrs.group) continue;
    if (gr.resources.length === 0) return true;
    if (gr.resourceNames.length > 0 && !gr.resourceNames.includes(attrs.name)) continue;
    for (const res of gr.resources) {
      if (res === '*' || res === combined) return true;
      if (attrs.subresource !== '' && res.startsWith('*/') && res.slice(2) === attrs.subresource) return true;
      if (res.endsWith('/*') && res.slice(0, -2) === attrs.resource) return true;
    }
  }
  return false;
}

function nonResourceMatches(r: PolicyRule, attrs: AuditAttributes): boolean {
  if (attrs.resourceRequest) return false;
  return r.nonResourceURLs.some((url) => url === attrs.path || (url.endsWith('*') && attrs.path.startsWith(url.slice(0, -1))));
}

/** Reads a Policy as kube-apiserver's --audit-policy-file does; throws one message naming every invalid field. */
export function parsePolicy(text: string): Policy {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new Error(`failed decoding the audit policy: ${(error as Error).message}`);
  }
  const errors: string[] = [];
  const policy = validatePolicy(doc, errors);
  if (errors.length > 0) throw new Error(`invalid audit policy: ${errors.join(', ')}`);
  if (policy.rules.length === 0) throw new Error('loaded illegal audit policy with 0 rules');
  return policy;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function strings(value: unknown, path: string, errors: string[]): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    errors.push(`${path}: Invalid value: must be a list of strings`);
    return [];
  }
  return value as string[];
}

function stageList(value: unknown, path: string, errors: string[]): Stage[] {
  const list = strings(value, path, errors);
  list.forEach((s, i) => {
    if (!(stages as readonly string[]).includes(s)) errors.push(`${path}[${i}]: Unsupported value: "${s}": supported values: ${stages.map((x) => `"${x}"`).join(', ')}`);
  });
  return list as Stage[];
}

function optionalBoolean(value: unknown, path: string, errors: string[]): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') errors.push(`${path}: Invalid value: must be true or false`);
  return value === true;
}

function validatePolicy(doc: unknown, errors: string[]): Policy {
  if (!isObject(doc)) {
    errors.push('the policy must be an object');
    return { rules: [], omitStages: [], omitManagedFields: false };
  }
  if (doc.kind !== 'Policy' || doc.apiVersion !== 'audit.k8s.io/v1') {
    errors.push(`kind must be Policy and apiVersion audit.k8s.io/v1, not ${String(doc.kind)} ${String(doc.apiVersion)}`);
  }
  const omitStages = stageList(doc.omitStages, 'omitStages', errors);
  const omitManagedFields = optionalBoolean(doc.omitManagedFields, 'omitManagedFields', errors) ?? false;
  const rawRules = doc.rules ?? [];
  if (!Array.isArray(rawRules)) {
    errors.push('rules: Invalid value: must be a list');
    return { rules: [], omitStages, omitManagedFields };
  }
  const rules = rawRules.map((raw, i) => validateRule(raw, `rules[${i}]`, errors));
  return { rules, omitStages, omitManagedFields };
}

function validateRule(raw: unknown, path: string, errors: string[]): PolicyRule {
  const r = isObject(raw) ? raw : {};
  if (!isObject(raw)) errors.push(`${path}: Invalid value: must be an object`);
  const level = r.level;
  if (typeof level !== 'string' || !(levels as readonly string[]).includes(level)) {
    errors.push(level === undefined || level === '' ? `${path}.level: Required value` : `${path}.level: Unsupported value: "${String(level)}": supported values: ${levels.map((x) => `"${x}"`).join(', ')}`);
  }
  const namespaces = strings(r.namespaces, `${path}.namespaces`, errors);
  const nonResourceURLs = strings(r.nonResourceURLs, `${path}.nonResourceURLs`, errors);
  const rawResources = r.resources ?? [];
  const resources: GroupResources[] = [];
  if (!Array.isArray(rawResources)) errors.push(`${path}.resources: Invalid value: must be a list`);
  else {
    rawResources.forEach((gr, i) => {
      const p = `${path}.resources[${i}]`;
      const g = isObject(gr) ? gr : {};
      const group = g.group ?? '';
      if (typeof group !== 'string') errors.push(`${p}.group: Invalid value: must be a string`);
      const names = strings(g.resources, `${p}.resources`, errors);
      const resourceNames = strings(g.resourceNames, `${p}.resourceNames`, errors);
      // As kube's validation: a group name is a DNS subdomain, and resource names need resources.
      if (typeof group === 'string' && group !== '' && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(group)) {
        errors.push(`${p}.group: Invalid value: "${group}": must be a valid DNS subdomain`);
      }
      if (resourceNames.length > 0 && names.length === 0) errors.push(`${p}.resourceNames: Invalid value: using resourceNames requires at least one resource`);
      resources.push({ group: typeof group === 'string' ? group : '', resources: names, resourceNames });
    });
  }
  if (nonResourceURLs.length > 0 && (resources.length > 0 || namespaces.length > 0)) {
    errors.push(`${path}.nonResourceURLs: Invalid value: rules cannot apply to both regular resources and non-resource URLs`);
  }
  nonResourceURLs.forEach((url, i) => {
    if (url === '*') return;
    if (!url.startsWith('/')) errors.push(`${path}.nonResourceURLs[${i}]: Invalid value: "${url}": non-resource URL rules must begin with a '/' character`);
    if (url.slice(0, -1).includes('*')) errors.push(`${path}.nonResourceURLs[${i}]: Invalid value: "${url}": non-resource URL wildcards '*' must be the final character of the rule`);
  });
  return {
    level: level as Level,
    users: strings(r.users, `${path}.users`, errors),
    userGroups: strings(r.userGroups, `${path}.userGroups`, errors),
    verbs: strings(r.verbs, `${path}.verbs`, errors),
    resources,
    namespaces,
    nonResourceURLs,
    omitStages: stageList(r.omitStages, `${path}.omitStages`, errors),
    omitManagedFields: optionalBoolean(r.omitManagedFields, `${path}.omitManagedFields`, errors),
  };
}
