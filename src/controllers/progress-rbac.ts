// Who may report a job's progress: its own pods, as the job's ServiceAccount, and for that job only. kube-apiserver's
// RBAC decides (this server asks it through SubjectAccessReview), so each job gets a Role granting update and patch
// on jobs/progress with resourceNames [the job], bound to the ServiceAccount its pods run as; both are owned by the
// job, so they go with it. Creating them is no escalation: the server's ClusterRole holds the same two verbs on
// jobs/progress, which is what kube requires of whoever grants or binds them.
import type { Job } from '../api/v1alpha1/types.js';
import type { KubeChildren } from './runtime/kube-children.js';
import { childLabels, ownerReference, type Stored } from './common.js';

/** The Role and RoleBinding of a job's progress reporting, both named after the job. */
export function progressRoleName(job: string): string {
  return `aijob-${job}-progress`;
}

/** The ServiceAccount a job's pods run as, as kube defaults it. */
export function jobServiceAccount(job: Job): string {
  return job.spec.template.spec?.serviceAccountName || 'default';
}

/** Applies the job's progress Role and RoleBinding, once per job (its uid) and ServiceAccount in this process. */
export async function ensureProgressAccess(children: KubeChildren, job: Stored<Job>): Promise<void> {
  const { name, namespace, uid } = job.metadata as { name: string; namespace: string; uid: string };
  const roleName = progressRoleName(name);
  const serviceAccount = jobServiceAccount(job);
  const metadata = { name: roleName, namespace, labels: childLabels(job), ownerReferences: [ownerReference(job)] };
  await children.applyOnce(
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata,
      rules: [{ apiGroups: ['ai.example.io'], resources: ['jobs/progress'], resourceNames: [name], verbs: ['update', 'patch'] }],
    },
    uid,
  );
  await children.applyOnce(
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
    },
    `${uid}/${serviceAccount}`,
  );
}
