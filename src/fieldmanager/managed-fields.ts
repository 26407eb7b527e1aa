// metadata.managedFields ⇄ manager identifiers and field sets (k8s.io/apimachinery's managedfields internals):
// an identifier is the entry without its time and fields, so "kubectl" applying and "kubectl" updating /status
// are different managers. Entries are written sorted as kube-apiserver sorts them.
import type { ManagedFieldsEntry } from '../api/meta/types.js';
import { FieldSet } from './field-set.js';
import type { ManagedFields } from './updater.js';

export interface Managed {
  fields: ManagedFields;
  times: Map<string, string | undefined>;
}

export interface ManagerInfo {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion?: string;
  subresource?: string;
}

export class ManagedFieldsError extends Error {}

export function emptyManaged(): Managed {
  return { fields: new Map(), times: new Map() };
}

export function cloneManaged(managed: Managed): Managed {
  return { fields: new Map(managed.fields), times: new Map(managed.times) };
}

/** The identifier of a manager: its entry's JSON without time and fields (and without apiVersion for Apply). */
export function managerIdentifier(info: ManagerInfo): string {
  const entry: Record<string, string> = {};
  if (info.manager) entry.manager = info.manager;
  entry.operation = info.operation;
  if (info.operation !== 'Apply' && info.apiVersion) entry.apiVersion = info.apiVersion;
  if (info.subresource) entry.subresource = info.subresource;
  return JSON.stringify(entry);
}

export function parseIdentifier(identifier: string): ManagerInfo {
  return JSON.parse(identifier) as ManagerInfo;
}

export function decodeManagedFields(entries: ManagedFieldsEntry[] | undefined): Managed {
  const managed = emptyManaged();
  (entries ?? []).forEach((entry, i) => {
    if (entry.operation !== 'Apply' && entry.operation !== 'Update') throw new ManagedFieldsError('operation must be `Apply` or `Update`');
    if (!entry.apiVersion) throw new ManagedFieldsError('apiVersion must not be empty');
    if (!entry.fieldsType) throw new ManagedFieldsError(`missing fieldsType in managed fields entry ${i}`);
    if (entry.fieldsType !== 'FieldsV1') throw new ManagedFieldsError(`invalid fieldsType "${entry.fieldsType}" in managed fields entry ${i}`);
    const identifier = managerIdentifier({
      manager: entry.manager ?? '',
      operation: entry.operation,
      apiVersion: entry.apiVersion,
      subresource: entry.subresource,
    });
    let set: FieldSet;
    try {
      set = FieldSet.fromFieldsV1(entry.fieldsV1 ?? {});
    } catch (error) {
      throw new ManagedFieldsError(`error decoding versioned set: ${(error as Error).message}`);
    }
    managed.fields.set(identifier, { set, apiVersion: entry.apiVersion, applied: entry.operation === 'Apply' });
    managed.times.set(identifier, entry.time);
  });
  return managed;
}

const seconds = (time: string | undefined): number => (time ? Math.floor(Date.parse(time) / 1000) : 0);
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function encodeManagedFields(managed: Managed): ManagedFieldsEntry[] | undefined {
  if (managed.fields.size === 0) return undefined;
  const entries: ManagedFieldsEntry[] = [];
  for (const [identifier, owned] of managed.fields) {
    const info = parseIdentifier(identifier);
    const time = managed.times.get(identifier);
    const entry: ManagedFieldsEntry = {};
    if (info.manager) entry.manager = info.manager;
    entry.operation = owned.applied ? 'Apply' : info.operation;
    entry.apiVersion = owned.apiVersion;
    if (time) entry.time = time;
    entry.fieldsType = 'FieldsV1';
    entry.fieldsV1 = owned.set.toFieldsV1();
    if (info.subresource) entry.subresource = info.subresource;
    entries.push(entry);
  }
  return entries.sort(
    (p, q) =>
      compare(p.operation!, q.operation!) ||
      seconds(p.time) - seconds(q.time) ||
      compare(p.manager ?? '', q.manager ?? '') ||
      compare(p.apiVersion ?? '', q.apiVersion ?? '') ||
      compare(p.subresource ?? '', q.subresource ?? ''),
  );
}

/** managedFields: [] or [{}] asks to clear them. */
export function isResetManagedFields(entries: ManagedFieldsEntry[] | undefined): boolean {
  if (entries === undefined) return false;
  if (entries.length === 0) return true;
  return entries.length === 1 && Object.keys(entries[0]!).length === 0;
}

/** A manager as conflicts name it: "kubectl" with subresource "status" using ai.example.io/v1alpha1. */
export function printManager(identifier: string): string {
  const info = parseIdentifier(identifier);
  let text = JSON.stringify(info.manager ?? '');
  if (info.subresource) text += ` with subresource ${JSON.stringify(info.subresource)}`;
  if (info.operation === 'Update') text += ` using ${info.apiVersion ?? ''}`;
  return text;
}
