#!/usr/bin/env bash
# Runs the server on this machine for development: a local etcd (built from its Go module on first use, data kept
# in .local/etcd), then the server in --standalone mode on https://127.0.0.1:8443, writing ./kubeconfig.
# Ctrl-C stops both. Extra arguments go to the server.
set -euo pipefail
cd "$(dirname "$0")/.."
etcd_bin=$(bash scripts/install-etcd.sh)
mkdir -p .local
"$etcd_bin" --data-dir .local/etcd \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --log-level warn >.local/etcd.log 2>&1 &
etcd_pid=$!
trap 'kill "$etcd_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:2379/health >/dev/null 2>&1 && break
  sleep 0.1
done
echo "etcd running (pid $etcd_pid, log .local/etcd.log); starting the server — kubectl --kubeconfig ./kubeconfig get notebooks" >&2
npm start -- --standalone --etcd-servers http://127.0.0.1:2379 --bind-address 127.0.0.1 --secure-port 8443 \
  --write-kubeconfig ./kubeconfig "$@"
