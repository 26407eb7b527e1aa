// Field selectors: `f=v`, `f==v`, `f!=v`, comma-joined, over the fields a resource declares selectable.
// Unknown fields are rejected with kube-apiserver's message.
import { SelectorParseError } from './label-selector.js';

export interface FieldSelector {
  readonly empty: boolean;
  /** The exact name the selector pins (metadata.name=x), which also narrows authorization and reads. */
  readonly name: string | undefined;
  matches(fields: Record<string, string>): boolean;
}

interface FieldRequirement {
  field: string;
  equal: boolean;
  value: string;
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

export function parseFieldSelector(input: string | undefined, known: readonly string[]): FieldSelector {
  const requirements: FieldRequirement[] = [];
  for (const part of (input ?? '').split(/(?<!\\),/)) {
    const term = part.trim();
    if (term === '') continue;
    const match = /^([^=!]+?)\s*(!=|==|=)\s*(.*)$/.exec(term);
    if (!match) throw new SelectorParseError(`invalid selector: '${term}'; can't understand '${term}'`);
    const field = match[1]!.trim();
    if (!known.includes(field)) {
      // kube-apiserver's wording for a field a resource cannot select on (a CRD's too); it names no alternatives.
      throw new SelectorParseError(`field label not supported: ${field}`);
    }
    requirements.push({ field, equal: match[2] !== '!=', value: unescape(match[3]!) });
  }
  const name = requirements.find((r) => r.field === 'metadata.name' && r.equal)?.value;
  return {
    empty: requirements.length === 0,
    name,
    matches: (fields) => requirements.every((r) => ((Object.hasOwn(fields, r.field) ? fields[r.field] : undefined) === r.value) === r.equal),
  };
}
