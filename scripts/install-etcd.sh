#!/usr/bin/env bash
# Builds a maintained etcd server from the Go module go.etcd.io/etcd/server/v3 into a cache folder outside the
# repository, keyed by version, and prints the binary's path. Reuses the build when it is already there.
set -euo pipefail
version="${ETCD_VERSION:-v3.6.16}"
cache="${AI_APISERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ai-apiserver}"
dir="$cache/etcd-$version"
bin="$dir/etcd"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$dir/src"
cd "$dir/src"
cat > main.go <<'GO'
// A minimal main package: etcd's own server entry point, built from the published Go module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
[ -f go.mod ] || go mod init local/etcd-build >&2
echo "building etcd $version (first run only; a few minutes)" >&2
go get "go.etcd.io/etcd/server/v3@$version" >&2
go mod tidy >&2
CGO_ENABLED=0 go build -trimpath -o "$bin.tmp" . >&2
mv "$bin.tmp" "$bin"
echo "$bin"
