#!/usr/bin/env bash
# Builds Kueue's controller manager (cmd/kueue) from the Go module sigs.k8s.io/kueue into a cache folder outside the
# repository keyed by version, next to the control plane's binaries. Reuses what is already built. Prints the folder
# holding the binary and the module's source (its config/components/crd has the CRDs the binary serves).
#
# v0.11 is Kueue's last minor line built on k8s.io/* v0.32, the control plane's v1.32 (v0.12 moves to v0.33).
set -euo pipefail
version="${KUEUE_VERSION:-v0.11.9}"
cache="${AI_APISERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ai-apiserver}"
dir="$cache/kueue-$version"
say() { echo "[install-kueue] $*" >&2; }

if [ ! -x "$dir/bin/kueue" ] || [ ! -d "$dir/src/config/components/crd" ]; then
  mkdir -p "$dir/bin"
  say "resolving sigs.k8s.io/kueue@$version"
  module=$(GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kueue@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -n "$module" ] || { say "sigs.k8s.io/kueue@$version could not be downloaded"; exit 1; }
  # Built as the main module, in a writable copy: Kueue's go.mod replaces controller-runtime, and replace lines
  # apply only to the main module (go install module@version refuses a go.mod that has them).
  rm -rf "$dir/src.tmp"
  cp -r "$module" "$dir/src.tmp"
  chmod -R u+w "$dir/src.tmp"
  rm -rf "$dir/src"
  mv "$dir/src.tmp" "$dir/src"
  cd "$dir/src"
  say "downloading modules (first run only)"
  go mod download >&2
  say "building kueue $version (first run only; several minutes on two cores)"
  start=$(date +%s)
  # At the lowest CPU priority, so that tests running meanwhile on a shared machine keep theirs; a line a minute
  # says the build is still going.
  ( while sleep 60; do say "still building ($(( ($(date +%s) - start) / 60 )) min)"; done ) &
  ticker=$!
  trap 'kill "$ticker" 2>/dev/null || true' EXIT
  CGO_ENABLED=0 nice -n 19 go build -trimpath -ldflags "-s -w -X sigs.k8s.io/kueue/pkg/version.GitVersion=$version" -o "$dir/bin/kueue.tmp" ./cmd/kueue >&2
  kill "$ticker" 2>/dev/null || true
  mv "$dir/bin/kueue.tmp" "$dir/bin/kueue"
  say "built in $(( $(date +%s) - start )) s"
fi
say "ready in $dir"
echo "$dir"
