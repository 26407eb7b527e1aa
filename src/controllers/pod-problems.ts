// Why a pod is not running, in words a user can act on: unschedulable, an image that does not pull, a crash loop.
import type { V1Pod } from '@kubernetes/client-node';

export interface PodProblem {
  reason: string;
  message: string;
  /** True when waiting will not help (a crash loop). */
  fatal: boolean;
}

const imageReasons = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);

export function podProblem(pod: V1Pod | undefined): PodProblem | undefined {
  if (!pod) return undefined;
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { reason: 'Unschedulable', message: scheduled.message ?? 'no node fits the pod', fatal: false };
  }
  for (const container of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = container.state?.waiting;
    if (!waiting?.reason) continue;
    if (imageReasons.has(waiting.reason)) {
      return { reason: 'ImagePullBackOff', message: `container ${container.name}: ${waiting.message ?? waiting.reason}`, fatal: false };
    }
    if (waiting.reason === 'CrashLoopBackOff') {
      return { reason: 'CrashLoopBackOff', message: `container ${container.name} keeps crashing: ${waiting.message ?? ''}`.trim(), fatal: true };
    }
  }
  return undefined;
}
