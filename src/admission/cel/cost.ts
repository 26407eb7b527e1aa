// The runtime cost budget. kube stops an expression past 1,000,000 units (k8s.io/apiserver/pkg/apis/cel PerCallLimit)
// with cel-go's "operation cancelled: actual cost limit exceeded". Here each function call costs one unit plus the
// size of the strings (a tenth of a unit a character, cel-go's traversal factor) and collections it is handed, and each
// comprehension iteration one unit plus the variables and fields it reads, so the work an expression does is linear in
// what it is charged.
import { isCelList, isCelMap, type CelValue } from '@bufbuild/cel';

export const perCallLimit = 1_000_000;
export const costLimitMessage = 'operation cancelled: actual cost limit exceeded';

export class CostTracker {
  used = 0;
  exceeded = false;
  constructor(readonly limit: number) {}
  charge(units: number): void {
    this.used += units;
    if (this.used > this.limit) {
      this.exceeded = true;
      throw new Error(costLimitMessage);
    }
  }
}

// Evaluation is synchronous, so the tracker of the evaluation under way is a stack kept here: a lazily computed
// variable evaluates inside the expression that reads it.
const trackers: CostTracker[] = [];

export function withTracker<T>(tracker: CostTracker, run: () => T): T {
  trackers.push(tracker);
  try {
    return run();
  } finally {
    trackers.pop();
  }
}

export function charge(units: number): void {
  const tracker = trackers[trackers.length - 1];
  if (tracker !== undefined) tracker.charge(units);
}

/**
 * Calls whose work does not grow with the collections they are handed (equality and `in` charge as they walk,
 * library/equality.ts); strings and bytes are still charged by size (size() counts code points, int() parses).
 */
const flat = new Set([
  '_==_', '_!=_', '@in',
  'size', 'int', 'uint', 'double', 'bool', 'type', 'dyn', 'bytes', 'timestamp', 'duration',
  'hasValue', 'value', 'orValue', 'or', 'optional.of', 'optional.none', 'optional.ofNonZeroValue',
  '@opt_select', '@opt_index',
  '_<_', '_<=_', '_>_', '_>=_', '_*_', '_/_', '_%_', '-_', '!_',
]);

export function callCost(name: string, target: CelValue | undefined, args: readonly CelValue[]): number {
  if (name === '@charge_iteration') return Number(args[1]);
  // List concatenation charges what it copies itself (lists-concat.ts).
  const collections = !flat.has(name) && name !== '_+_';
  let units = 1 + sizeCost(target, collections);
  for (const arg of args) units += sizeCost(arg, collections);
  return units;
}

function sizeCost(value: CelValue | undefined, collections: boolean): number {
  if (typeof value === 'string') return Math.ceil(value.length * 0.1);
  if (value instanceof Uint8Array) return Math.ceil(value.length * 0.1);
  if (collections && typeof value === 'object' && value !== null && (isCelList(value) || isCelMap(value))) return (value as { size: number }).size;
  return 0;
}
