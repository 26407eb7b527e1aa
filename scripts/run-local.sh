#!/usr/bin/env bash
# Runs the server on this machine with nothing but Node: objects in an embedded SQLite file under .local/data, the
# server in --standalone mode on https://127.0.0.1:8443, writing ./kubeconfig. Ctrl-C stops it. Extra arguments go
# to the server; with --etcd-servers URL (or --storage sqlite:PATH) it uses that store instead. Logs are readable
# lines on a terminal and JSON lines when standard output is a pipe or a file (for jq, or a collector).
set -euo pipefail
cd "$(dirname "$0")/.."
store=(--storage sqlite:.local/data/ai-apiserver.db)
for arg in "$@"; do
  case "$arg" in --etcd-servers*|--storage*) store=() ;; esac
done
format=(--logging-format json)
[ -t 1 ] && format=(--logging-format text)
echo "starting the server on https://127.0.0.1:8443 (data in .local/data); then: kubectl --kubeconfig ./kubeconfig get notebooks -A" >&2
exec node --import tsx src/main.ts --standalone "${store[@]}" --bind-address 127.0.0.1 --secure-port 8443 \
  --write-kubeconfig ./kubeconfig "${format[@]}" "$@"
