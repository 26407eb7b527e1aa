#!/bin/sh
# kubectl's plugin for ai.example.io in the image (installed as /usr/local/bin/kubectl-ai): `kubectl ai …` where a
# kubectl sits beside it, or `kubectl-ai …` on its own, with --kubeconfig or the pod's in-cluster credentials.
exec /usr/local/bin/node /app/dist/plugin/main.js "$@"
