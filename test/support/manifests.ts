// Manifests the end-to-end suites apply with kubectl.

/** A Notebook with a 1Gi workspace; `metadata` and `spec` are extra YAML lines (two-space indented) for each. */
export function notebookYaml(name: string, extra: { metadata?: string; spec?: string } = {}): string {
  return `apiVersion: ai.example.io/v1alpha1
kind: Notebook
metadata:
  name: ${name}
${extra.metadata ?? ''}spec:
  template:
    spec:
      containers:
        - name: notebook
          image: jupyter/base-notebook
  workspace:
    size: 1Gi
${extra.spec ?? ''}`;
}

/**
 * A Job of `replicas` ranks whose pods kwok leaves alone (kwok.x-k8s.io/status: custom), so a suite sets their
 * status itself; `extra` is more spec lines (two-space indented).
 */
export function jobYaml(name: string, replicas: number, extra = ''): string {
  return `apiVersion: ai.example.io/v1alpha1
kind: Job
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
${extra}  template:
    metadata:
      annotations:
        kwok.x-k8s.io/status: custom
    spec:
      restartPolicy: Never
      containers:
        - name: trainer
          image: pytorch/pytorch
`;
}
