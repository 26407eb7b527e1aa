// What the dashboard shows of an object, as plain functions of the object (and the time): no DOM, so the unit tests
// run them in Node.
import type { Condition, Job, JobProgressStatus, Notebook } from '../api/v1alpha1/types.js';

export const queueNameLabel = 'kueue.x-k8s.io/queue-name';

/** A duration as kubectl prints ages: the largest unit or two (45s, 12m, 3h5m, 2d4h). */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
}

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Bytes in binary units with three significant digits or more (1.50 GiB, 512 MiB), as a person reads a dataset's size. */
export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n) || n < 0) return '—';
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value >= 100 ? value.toFixed(0) : value.toPrecision(3)} ${units[unit]}`;
}

export function condition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export interface QueueState {
  /** Short: Admitted, Queued, Evicted, or — for a job in no queue. */
  state: string;
  /** The LocalQueue, from the job's label. */
  queue?: string;
  /** Kueue's words, from the condition that decides the state. */
  detail?: string;
}

/**
 * Where a job stands in its Kueue queue, from the Admitted and Queued conditions the job controller copies from the
 * job's Workload (README: "A queued elastic job").
 */
export function queueState(job: Job): QueueState {
  const queue = job.metadata?.labels?.[queueNameLabel];
  const admitted = condition(job.status?.conditions, 'Admitted');
  const queued = condition(job.status?.conditions, 'Queued');
  const base = queue === undefined ? {} : { queue };
  if (admitted?.status === 'True') return { ...base, state: 'Admitted', detail: admitted.message };
  if (queued?.status === 'True') return { ...base, state: 'Queued', detail: queued.message ? `${queued.reason}: ${queued.message}` : queued.reason };
  if (admitted?.status === 'False') return { ...base, state: 'Evicted', detail: admitted.message ? `${admitted.reason}: ${admitted.message}` : admitted.reason };
  return { ...base, state: queue === undefined ? '—' : 'Waiting' };
}

export interface Replicas {
  /** Workers the job asks for now (status.replicas, else its spec). */
  current: number;
  /** Workers running. */
  active: number;
  /** The elastic bounds, when the job has them. */
  min?: number;
  max?: number;
}

export function replicas(job: Job): Replicas {
  const spec = job.spec;
  const current = job.status?.replicas ?? spec?.replicas ?? spec?.elastic?.maxReplicas ?? 1;
  const out: Replicas = { current, active: job.status?.active ?? 0 };
  if (spec?.elastic) {
    out.min = spec.elastic.minReplicas;
    out.max = spec.elastic.maxReplicas;
  }
  return out;
}

/** As kubectl's REPLICAS column prints it: 4, or 4 (2-8) for an elastic job. */
export function replicasText(r: Replicas): string {
  return r.min === undefined ? String(r.current) : `${r.current} (${r.min}-${r.max})`;
}

/** How far training is, 0..1, from steps (else epochs); undefined when rank 0 has not said how far it has to go. */
export function progressFraction(progress: JobProgressStatus | undefined): number | undefined {
  if (!progress) return undefined;
  const { step, totalSteps, epoch, totalEpochs } = progress;
  if (step !== undefined && totalSteps) return Math.min(1, Math.max(0, step / totalSteps));
  if (epoch !== undefined && totalEpochs) return Math.min(1, Math.max(0, epoch / totalEpochs));
  return undefined;
}

/** Seconds left as of `now`: the estimate counts down from the report it came with, as `kubectl get aijob`'s ETA does. */
export function remainingSeconds(progress: JobProgressStatus | undefined, now: number): number | undefined {
  if (progress?.estimatedRemainingSeconds === undefined) return undefined;
  const since = progress.lastUpdateTime ? (now - Date.parse(progress.lastUpdateTime)) / 1000 : 0;
  return Math.max(0, progress.estimatedRemainingSeconds - (Number.isFinite(since) ? since : 0));
}

export interface Idle {
  /** Seconds since the last activity, when the notebook has recorded one. */
  seconds?: number;
  /** The culling timeout of spec.idle. */
  timeoutSeconds?: number;
  culled: boolean;
}

/** How long a notebook has been idle: since status.lastActivityTime (Jupyter's or the proxy's, whichever is later). */
export function idle(notebook: Notebook, now: number): Idle {
  const last = notebook.status?.lastActivityTime ? Date.parse(notebook.status.lastActivityTime) : NaN;
  const out: Idle = { culled: condition(notebook.status?.conditions, 'Culled')?.status === 'True' };
  if (Number.isFinite(last)) out.seconds = Math.max(0, (now - last) / 1000);
  if (notebook.spec?.idle) out.timeoutSeconds = notebook.spec.idle.timeoutSeconds;
  return out;
}

export function idleText(i: Idle): string {
  if (i.culled) return 'culled';
  const since = i.seconds === undefined ? 'no activity yet' : duration(i.seconds);
  return i.timeoutSeconds === undefined ? since : `${since} of ${duration(i.timeoutSeconds)}`;
}

/** One report of a job's progress, as the progress chart plots it. */
export interface Sample {
  time: number;
  step?: number;
  metrics: Record<string, number>;
}

/**
 * Appends the report `progress` carries unless it is the one kept last (the same stamp, step and metrics: the job
 * changed for another reason); keeps the latest `limit`. The stamp alone would not do: it has whole seconds, and
 * reports can be stored more often than that.
 */
export function recordSample(samples: Sample[], progress: JobProgressStatus | undefined, limit = 500): Sample[] {
  if (!progress?.lastUpdateTime) return samples;
  const time = Date.parse(progress.lastUpdateTime);
  if (!Number.isFinite(time)) return samples;
  const sample: Sample = { time, metrics: { ...progress.metrics } };
  if (progress.step !== undefined) sample.step = progress.step;
  const last = samples.at(-1);
  if (last && last.time === time && last.step === sample.step && JSON.stringify(last.metrics) === JSON.stringify(sample.metrics)) return samples;
  return [...samples, sample].slice(-limit);
}
