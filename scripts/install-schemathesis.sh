#!/usr/bin/env bash
# Installs the schemathesis fuzzer from PyPI into a virtual environment in the cache folder outside the
# repository, keyed by version, and prints the path of its `st` command. Reuses the environment when complete.
set -euo pipefail
version="${SCHEMATHESIS_VERSION:-4.32.5}"
cache="${AI_APISERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ai-apiserver}"
dir="$cache/schemathesis-$version"
bin="$dir/bin/st"
if [ -x "$bin" ] && [ -f "$dir/.complete" ]; then
  echo "$bin"
  exit 0
fi
echo "installing schemathesis $version (first run only)" >&2
rm -rf "$dir"
python3 -m venv "$dir" >&2
"$dir/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version" >&2
touch "$dir/.complete"
echo "$bin"
