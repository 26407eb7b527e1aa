#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and kube-scheduler from the Go module k8s.io/kubernetes (staging
# modules pinned by replace lines to the matching v0.x.y), and kwok from sigs.k8s.io/kwok, into a cache folder
# outside the repository keyed by version. Reuses what is already built. Prints the folder holding the binaries.
set -euo pipefail
kube_version="${KUBE_VERSION:-v1.32.2}"
kwok_version="${KWOK_VERSION:-v0.7.0}"
cache="${AI_APISERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ai-apiserver}"
dir="$cache/kube-$kube_version"
bin="$dir/bin"
mkdir -p "$bin"
say() { echo "[install-kube] $*" >&2; }

if [ ! -x "$bin/kube-apiserver" ] || [ ! -x "$bin/kube-controller-manager" ] || [ ! -x "$bin/kube-scheduler" ]; then
  src="$dir/src"
  mkdir -p "$src"
  cd "$src"
  staging="v0.${kube_version#v1.}"
  if [ ! -f go.mod ]; then
    say "resolving k8s.io/kubernetes@$kube_version"
    modfile=$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$kube_version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    go_line=$(grep -E '^go ' "$modfile")
    {
      echo "module local/kube-build"
      echo
      echo "$go_line"
      echo
      echo "require k8s.io/kubernetes $kube_version"
      echo
      echo "replace ("
      grep -E '^\s+k8s.io/[^ ]+ => ./staging/' "$modfile" | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
      echo ")"
    } > go.mod
    cat > tools.go <<'GO'
//go:build tools

// Pins the commands this folder builds, so `go mod tidy` keeps their dependencies.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
    say "downloading modules (first run only)"
    GOFLAGS=-mod=mod go mod tidy >&2
  fi
  for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
    if [ ! -x "$bin/$cmd" ]; then
      say "building $cmd $kube_version (a few minutes)"
      CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$kube_version" | cut -d. -f2)" -o "$bin/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd" >&2
      mv "$bin/$cmd.tmp" "$bin/$cmd"
    fi
  done
fi

if [ ! -x "$bin/kwok" ]; then
  say "building kwok $kwok_version"
  GOBIN="$bin" CGO_ENABLED=0 go install -trimpath "sigs.k8s.io/kwok/cmd/kwok@$kwok_version" >&2
fi
say "ready in $bin"
echo "$bin"
