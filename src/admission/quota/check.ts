// One create checked against a namespace's quotas, as k8s.io/apiserver's resourcequota admission checks it with the
// generic object-count evaluator it makes for any resource it has no evaluator of its own for (ours): a quota counts
// the create when its status.hard names count/<resource>.<group> and it has no scopes (that evaluator matches no
// scope, so a scoped quota never counts these objects); its status.used must already hold that name; the create
// must fit. The answer is the quotas with what they would use after it, unwritten.
import { compareQuantities, formatQuantity, parseQuantity } from '../quantity.js';
import { add, equal, exceeding, mask, prettyPrint, resourceList, scopeSelectors, type ResourceList, type ResourceQuota } from './resource-list.js';

/** A refusal in kube's words, without the `<resource> "<name>" is forbidden: ` the plugin puts in front. */
export class QuotaRefusal extends Error {}

/** generic.ObjectCountQuotaResourceNameFor. */
export function objectCountName(group: string, resource: string): string {
  return group ? `count/${resource}.${group}` : `count/${resource}`;
}

const one = parseQuantity('1');

/** What the create would use: one object, counted under its count/ name. */
export function countUsage(group: string, resource: string): ResourceList {
  return new Map([[objectCountName(group, resource), one]]);
}

/**
 * CheckRequest for a create whose usage is `usage` (names and amounts): the quotas as they would be once it is
 * charged (the same array when none applies), or QuotaRefusal.
 */
export function checkRequest(quotas: readonly ResourceQuota[], usage: ResourceList): ResourceQuota[] {
  const tracked = [...usage.keys()];
  const interesting: number[] = [];
  for (const [i, quota] of quotas.entries()) {
    const hard = resourceList(quota.status?.hard);
    const restricted = tracked.filter((name) => hard.has(name));
    if (restricted.length === 0 || scopeSelectors(quota).length > 0) continue;
    const used = quota.status?.used ?? {};
    if (restricted.some((name) => !Object.hasOwn(used, name))) {
      throw new QuotaRefusal(`status unknown for quota: ${quota.metadata.name}, resources: ${[...restricted].sort().join(',')}`);
    }
    interesting.push(i);
  }
  if (interesting.length === 0) return [...quotas];
  const out = [...quotas];
  for (const i of interesting) {
    const quota = out[i]!;
    const hard = resourceList(quota.status?.hard);
    const used = resourceList(quota.status?.used);
    const requested = mask(usage, hard.keys());
    const next = add(used, requested);
    const over = exceeding(mask(next, requested.keys()), hard);
    if (over.length > 0) {
      throw new QuotaRefusal(
        `exceeded quota: ${quota.metadata.name}, requested: ${prettyPrint(mask(requested, over))}, used: ${prettyPrint(mask(used, over))}, limited: ${prettyPrint(mask(hard, over))}`,
      );
    }
    out[i] = withUsed(quota, next);
  }
  return out;
}

/** A copy of `quota` whose status.used is `used`; the amounts that did not change keep the text they had. */
export function withUsed(quota: ResourceQuota, used: ResourceList): ResourceQuota {
  const before = resourceList(quota.status?.used);
  const strings = Object.assign(Object.create(null) as Record<string, string>, quota.status?.used);
  for (const [name, value] of used) {
    const previous = before.get(name);
    if (!previous || compareQuantities(previous, value) !== 0) strings[name] = formatQuantity(value);
  }
  return { ...quota, status: { ...quota.status, used: strings } };
}

/** Whether two versions of a quota use the same amounts. */
export function sameUsage(a: ResourceQuota, b: ResourceQuota): boolean {
  return equal(resourceList(a.status?.used), resourceList(b.status?.used));
}
