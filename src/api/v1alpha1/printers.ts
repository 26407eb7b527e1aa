// Server-side printing: the Table columns of each kind, as `kubectl get` shows them. Priority-1 columns appear
// only with -o wide. kubectl does not humanize dates, so ages are rendered here, as kube-apiserver renders them.
import type { KubeObject } from '../meta/types.js';

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

const field = (object: KubeObject, path: string[]): unknown => {
  let value: unknown = object;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
};
const text = (value: unknown): string => (value === undefined || value === null ? '' : String(value));
const count = (value: unknown): number => (typeof value === 'number' ? value : 0);

const nameColumn: PrinterColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
  cell: (o) => o.metadata.name ?? '',
};

const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'string',
  format: '',
  description: 'Time since the object was created (metadata.creationTimestamp).',
  priority: 0,
  cell: (o, now) => (o.metadata.creationTimestamp ? humanDuration(now - Date.parse(o.metadata.creationTimestamp)) : '<unknown>'),
};

const column = (
  name: string,
  type: TableColumnDefinition['type'],
  description: string,
  cell: PrinterColumn['cell'],
  priority = 0,
): PrinterColumn => ({ name, type, format: '', description, priority, cell });

const phase = column('Phase', 'string', 'A summary of the state (status.phase).', (o) => text(field(o, ['status', 'phase'])));
const firstImage = (o: KubeObject): string => {
  const containers = field(o, ['spec', 'template', 'spec', 'containers']);
  return Array.isArray(containers) ? text((containers[0] as { image?: unknown } | undefined)?.image) : '';
};

export const printerColumns: Record<string, PrinterColumn[]> = {
  Notebook: [
    nameColumn,
    phase,
    column('Ready', 'string', 'Ready notebook pods out of those wanted.', (o) =>
      `${count(field(o, ['status', 'readyReplicas']))}/${field(o, ['spec', 'stopped']) === true ? 0 : 1}`,
    ),
    column('Image', 'string', 'Image of the first container.', firstImage),
    ageColumn,
    column('URL', 'string', 'Where the notebook UI is served (status.url).', (o) => text(field(o, ['status', 'url'])), 1),
    column('Idle-Timeout', 'string', 'Seconds idle before the notebook is stopped.', (o) => text(field(o, ['spec', 'idle', 'timeoutSeconds'])), 1),
  ],
  Job: [
    nameColumn,
    phase,
    column('Replicas', 'string', 'Workers wanted, and the elastic bounds: "4 (2-8)".', (o) => {
      const elastic = field(o, ['spec', 'elastic']) as { minReplicas?: number; maxReplicas?: number } | undefined;
      const replicas = text(field(o, ['spec', 'replicas']));
      return elastic ? `${replicas} (${text(elastic.minReplicas)}-${text(elastic.maxReplicas)})` : replicas;
    }),
    column('Active', 'integer', 'Workers running.', (o) => count(field(o, ['status', 'active']))),
    column('Succeeded', 'integer', 'Workers that succeeded.', (o) => count(field(o, ['status', 'succeeded']))),
    ageColumn,
    column('Failed', 'integer', 'Workers that failed.', (o) => count(field(o, ['status', 'failed'])), 1),
    column('Framework', 'string', 'How workers find each other.', (o) => text(field(o, ['spec', 'framework'])), 1),
    column('Image', 'string', 'Image of the first container.', firstImage, 1),
  ],
  Dataset: [
    nameColumn,
    phase,
    column('Size', 'string', 'Capacity of the claim holding the data.', (o) => text(field(o, ['spec', 'size']))),
    column('Source', 'string', 'Where the data comes from.', (o) => text(field(o, ['spec', 'source', 'uri']))),
    ageColumn,
    column('Bytes', 'integer', 'Bytes loaded.', (o) => count(field(o, ['status', 'bytes'])), 1),
    column('Files', 'integer', 'Files loaded.', (o) => count(field(o, ['status', 'files'])), 1),
  ],
};

export function columnDefinitions(kind: string): TableColumnDefinition[] {
  return (printerColumns[kind] ?? []).map(({ cell: _cell, ...definition }) => definition);
}
