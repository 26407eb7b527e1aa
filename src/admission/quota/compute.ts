// What a Job's or Notebook's pods will be charged when kube-apiserver creates them, as kube's pod quota evaluator
// counts a pod (pods, cpu, memory, ephemeral-storage, extended resources such as nvidia.com/gpu, requests.* and
// limits.*), times the pods the controllers run; and which of the namespace's quotas that will not fit. Pods are
// charged by kube when created, so this only warns: the refusal comes later, per pod, from kube-apiserver.
import { addQuantities, compareQuantities, multiplyQuantity, parseQuantity, subtractQuantities, zero, type Quantity } from '../quantity.js';
import { add, exceeding, mask, prettyPrint, resourceList, scopeSelectors, type ResourceList, type ResourceQuota, type ScopeSelectorRequirement } from './resource-list.js';

interface Container {
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

interface PodSpec {
  containers?: Container[];
  initContainers?: (Container & { restartPolicy?: string })[];
  activeDeadlineSeconds?: number;
  priorityClassName?: string;
  overhead?: Record<string, string>;
}

/** A workload's pods: how many will run and the spec each gets. */
export interface PodPlan {
  replicas: number;
  pod: PodSpec;
}

const get = (object: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((value, key) => (value !== null && typeof value === 'object' && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined), object);

/** The pods a jobs or notebooks object asks for, as the controllers build them (job.ts, notebook.ts). */
export function podPlan(resource: string, object: unknown): PodPlan | undefined {
  const pod = (get(object, 'spec', 'template', 'spec') ?? {}) as PodSpec;
  if (resource === 'jobs') {
    if (get(object, 'spec', 'suspend') === true) return { replicas: 0, pod };
    const replicas = get(object, 'spec', 'replicas') ?? get(object, 'spec', 'elastic', 'maxReplicas') ?? 1;
    return { replicas: typeof replicas === 'number' ? replicas : 1, pod };
  }
  if (resource === 'notebooks') return { replicas: get(object, 'spec', 'stopped') === true ? 0 : 1, pod };
  return undefined;
}

/** v1helper.IsExtendedResourceName: a domain-qualified name outside kubernetes.io. */
const isExtended = (name: string): boolean => name.includes('/') && !name.includes('kubernetes.io/') && !name.startsWith('requests.');

/** A container's requests after kube's defaulting: a resource with a limit and no request requests its limit. */
function containerResources(container: Container): { requests: ResourceList; limits: ResourceList } {
  const limits = resourceList(container.resources?.limits);
  const requests = resourceList(container.resources?.requests);
  for (const [name, value] of limits) if (!requests.has(name)) requests.set(name, value);
  return { requests, limits };
}

/** Adds `list` into `total` in place: a pod's thousands of containers each cost their own entries, not the total's. */
function addInto(total: ResourceList, list: ResourceList): void {
  for (const [name, value] of list) {
    const mine = total.get(name);
    total.set(name, mine ? addQuantities(mine, value) : value);
  }
}

/**
 * resourcehelper.PodRequests / PodLimits: the containers' sum, or the largest init container when larger (a
 * restartable init container, a sidecar, runs beside the rest and adds to both), plus the pod's overhead. kube
 * compares each init container with every sidecar resource before it, which is quadratic in a tenant's pod spec;
 * quantities of a pod kube accepts are not negative, so the sidecars before an init container never exceed all the
 * sidecars beside the containers, and only the init container's own resources can make it the largest.
 */
function podTotals(pod: PodSpec, which: 'requests' | 'limits'): ResourceList {
  const total: ResourceList = new Map();
  for (const container of pod.containers ?? []) addInto(total, containerResources(container)[which]);
  const sidecars: ResourceList = new Map();
  const initMax: ResourceList = new Map();
  for (const container of pod.initContainers ?? []) {
    const own = containerResources(container)[which];
    if (container.restartPolicy === 'Always') {
      addInto(sidecars, own);
      continue;
    }
    for (const [name, value] of own) {
      const beside = sidecars.get(name);
      const running = beside ? addQuantities(value, beside) : value;
      const largest = initMax.get(name);
      if (!largest || compareQuantities(running, largest) > 0) initMax.set(name, running);
    }
  }
  addInto(total, sidecars);
  for (const [name, value] of initMax) {
    const mine = total.get(name);
    if (!mine || compareQuantities(value, mine) > 0) total.set(name, value);
  }
  addInto(total, resourceList(pod.overhead));
  return total;
}

/** The quota usage of one pod, named as kube's pod evaluator names it. */
export function podUsage(pod: PodSpec): ResourceList {
  const requests = podTotals(pod, 'requests');
  const limits = podTotals(pod, 'limits');
  const one = parseQuantity('1');
  const usage: ResourceList = new Map([
    ['pods', one],
    ['count/pods', one],
  ]);
  for (const name of ['cpu', 'memory', 'ephemeral-storage']) {
    const request = requests.get(name);
    if (request) {
      usage.set(name, request);
      usage.set(`requests.${name}`, request);
    }
    const limit = limits.get(name);
    if (limit) usage.set(`limits.${name}`, limit);
  }
  for (const [name, request] of requests) {
    if (isExtended(name) || name.startsWith('hugepages-')) usage.set(`requests.${name}`, request);
  }
  return usage;
}

function times(usage: ResourceList, n: number): ResourceList {
  const out: ResourceList = new Map();
  for (const [name, value] of usage) out.set(name, multiplyQuantity(value, n));
  return out;
}

/** Whether `pod` falls in one of kube's pod quota scopes (Terminating, BestEffort, PriorityClass, …). */
function podInScope(pod: PodSpec, selector: ScopeSelectorRequirement): boolean {
  const terminating = typeof pod.activeDeadlineSeconds === 'number' && pod.activeDeadlineSeconds >= 0;
  const usage = podUsage(pod);
  const bestEffort = !['cpu', 'memory', 'limits.cpu', 'limits.memory'].some((name) => usage.has(name));
  switch (selector.scopeName) {
    case 'Terminating':
      return terminating;
    case 'NotTerminating':
      return !terminating;
    case 'BestEffort':
      return bestEffort;
    case 'NotBestEffort':
      return !bestEffort;
    case 'PriorityClass': {
      const name = pod.priorityClassName ?? '';
      const values = selector.values ?? [];
      switch (selector.operator) {
        case 'In':
          return values.includes(name);
        case 'NotIn':
          return !values.includes(name);
        case 'Exists':
          return name !== '';
        case 'DoesNotExist':
          return name === '';
        default:
          return false;
      }
    }
    default:
      // CrossNamespacePodAffinity and scopes of other kinds: the controllers' pods carry no cross-namespace terms.
      return false;
  }
}

/** A warning per quota the planned pods will not fit in, with kube's "exceeded quota" numbers. */
export function computeWarnings(plan: PodPlan, quotas: readonly ResourceQuota[], previous?: PodPlan): string[] {
  if (plan.replicas <= 0) return [];
  let wanted = times(podUsage(plan.pod), plan.replicas);
  if (previous && previous.replicas > 0) {
    // An update is charged what it adds: what the pods already running take is in used.
    const before = times(podUsage(previous.pod), previous.replicas);
    const delta: ResourceList = new Map();
    for (const [name, value] of wanted) {
      const had = before.get(name);
      if (!had) delta.set(name, value);
      else if (compareQuantities(value, had) > 0) delta.set(name, subtractQuantities(value, had));
    }
    wanted = delta;
  }
  if (wanted.size === 0) return [];
  const warnings: string[] = [];
  for (const quota of quotas) {
    if (!scopeSelectors(quota).every((selector) => podInScope(plan.pod, selector))) continue;
    const hard = resourceList(quota.status?.hard);
    const used = resourceList(quota.status?.used);
    const requested = mask(wanted, hard.keys());
    if (requested.size === 0) continue;
    const zeroFilled = new Map([...requested.keys()].map((name): [string, Quantity] => [name, used.get(name) ?? zero]));
    const over = exceeding(add(zeroFilled, requested), hard);
    if (over.length === 0) continue;
    warnings.push(
      `${plan.replicas} pod(s) will exceed quota: ${quota.metadata.name}, requested: ${prettyPrint(mask(requested, over))}, used: ${prettyPrint(mask(zeroFilled, over))}, limited: ${prettyPrint(mask(hard, over))}; kube-apiserver refuses the pods that do not fit`,
    );
  }
  return warnings;
}
