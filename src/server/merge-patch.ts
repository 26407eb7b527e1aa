// RFC 7386 JSON merge patch as kube-apiserver applies it (gopkg.in/evanphx/json-patch.v4 MergePatch): null
// deletes a member, objects merge member by member, anything else replaces; nulls inside a value that lands
// where nothing was merged are pruned (inside arrays too, as the library does). Walks without recursion, reads
// and writes own keys only ("constructor" and "__proto__" are keys like any other), never changes the patch.
import { cloneJson, isJsonObject, setOwnKey, type JsonObject } from '../registry/json-tree.js';

/** Merges `patch` into a copy of `document`; neither argument is changed. */
export function applyMergePatch(document: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch) || !isJsonObject(document)) return pruned(patch);
  const root = cloneJson(document);
  const stack: Array<[target: JsonObject, patch: JsonObject]> = [[root, patch]];
  while (stack.length > 0) {
    const [target, changes] = stack.pop()!;
    for (const key of Object.keys(changes)) {
      const value = changes[key];
      if (value === null) {
        delete target[key];
        continue;
      }
      const current = Object.hasOwn(target, key) ? target[key] : null;
      if (isJsonObject(current) && isJsonObject(value)) stack.push([current, value]);
      // An object replaced by a non-object takes the patch's value as it is, nulls and all, as the library does.
      else if (isJsonObject(current)) setOwnKey(target, key, cloneJson(value));
      else setOwnKey(target, key, pruned(value));
    }
  }
  return root;
}

/** A copy of `value` without the null members of any object in it. */
function pruned(value: unknown): unknown {
  const copy = cloneJson(value);
  const stack: unknown[] = [copy];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (const child of node) if (child !== null && typeof child === 'object') stack.push(child);
    } else if (isJsonObject(node)) {
      for (const key of Object.keys(node)) {
        const child = node[key];
        if (child === null) delete node[key];
        else if (typeof child === 'object') stack.push(child);
      }
    }
  }
  return copy;
}
