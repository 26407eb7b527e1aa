#!/usr/bin/env bash
# Installs the moto S3-compatible server from PyPI into a virtual environment in the cache folder outside the
# repository, keyed by version, and prints the path of its `moto_server` command. Reuses the environment when
# complete. The dataset loader's tests run it as a real S3 endpoint.
set -euo pipefail
version="${MOTO_VERSION:-5.1.22}"
cache="${AI_APISERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ai-apiserver}"
dir="$cache/moto-$version"
bin="$dir/bin/moto_server"
if [ -x "$bin" ] && [ -f "$dir/.complete" ]; then
  echo "$bin"
  exit 0
fi
echo "installing moto $version (first run only)" >&2
rm -rf "$dir"
python3 -m venv "$dir" >&2
"$dir/bin/pip" install --quiet --disable-pip-version-check "moto[server,s3,iam]==$version" >&2
touch "$dir/.complete"
echo "$bin"
