// Server-side printing: the pieces every resource's Table columns are made of, as `kubectl get` shows them.
// Priority-1 columns appear only with -o wide. kubectl does not humanize dates, so ages are rendered here, as
// kube-apiserver renders them.
import type { KubeObject } from './types.js';

export interface TableColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}

export interface PrinterColumn extends TableColumnDefinition {
  cell(object: KubeObject, now: number): string | number | boolean | null;
}

/** kube's duration.HumanDuration: "45s", "5m30s", "3h", "2d4h", "1y20d". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

export const fieldAt = (object: KubeObject, path: string[]): unknown => {
  let value: unknown = object;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
};
export const text = (value: unknown): string => (value === undefined || value === null ? '' : String(value));
export const count = (value: unknown): number => (typeof value === 'number' ? value : 0);

export const nameColumn: PrinterColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
  cell: (o) => o.metadata.name ?? '',
};

export const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'string',
  format: '',
  description: 'Time since the object was created (metadata.creationTimestamp).',
  priority: 0,
  cell: (o, now) => (o.metadata.creationTimestamp ? humanDuration(now - Date.parse(o.metadata.creationTimestamp)) : '<unknown>'),
};

export const column = (
  name: string,
  type: TableColumnDefinition['type'],
  description: string,
  cell: PrinterColumn['cell'],
  priority = 0,
): PrinterColumn => ({ name, type, format: '', description, priority, cell });

/** The column definitions of a Table, without the functions that fill their cells. */
export function columnDefinitions(columns: readonly PrinterColumn[]): TableColumnDefinition[] {
  return columns.map(({ cell: _cell, ...definition }) => definition);
}
