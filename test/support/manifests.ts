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
