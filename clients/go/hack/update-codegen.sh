#!/usr/bin/env bash
# Generates deepcopy, the typed clientset, listers, informers and apply configurations of clients/go with
# k8s.io/code-generator (the version of client-go in go.mod). Run from anywhere; `--verify` regenerates into a
# copy and fails when the committed code differs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
codegen_version="v0.32.2"
if [ "${1:-}" = "--verify" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  cp -r "$root/." "$work/"
  bash "$work/hack/update-codegen.sh" >/dev/null
  if ! diff -r "$root/apis" "$work/apis" >&2 || ! diff -r "$root/generated" "$work/generated" >&2; then
    echo "clients/go: generated code is stale; run clients/go/hack/update-codegen.sh" >&2
    exit 1
  fi
  echo "clients/go: generated code is up to date" >&2
  exit 0
fi
codegen_dir="$(cd "$root" && go mod download -json "k8s.io/code-generator@$codegen_version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
# shellcheck source=/dev/null
source "$codegen_dir/kube_codegen.sh"
cd "$root"
kube::codegen::gen_helpers --boilerplate hack/boilerplate.go.txt apis
kube::codegen::gen_client \
  --with-watch \
  --with-applyconfig \
  --applyconfig-externals "k8s.io/api/core/v1.PodTemplateSpec:k8s.io/client-go/applyconfigurations/core/v1,k8s.io/api/autoscaling/v1.Scale:k8s.io/client-go/applyconfigurations/autoscaling/v1" \
  --output-dir generated \
  --output-pkg example.io/ai-apiserver/clients/go/generated \
  --boilerplate hack/boilerplate.go.txt \
  apis
