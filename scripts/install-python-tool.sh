#!/usr/bin/env bash
# Usage: install-python-tool.sh NAME VERSION REQUIREMENT COMMAND
# Installs REQUIREMENT==VERSION from PyPI into a virtual environment in the cache folder outside the repository,
# keyed by NAME and VERSION, and prints the path of its COMMAND. Reuses the environment when complete: the marker
# is written last, so an install cut short is made again rather than used.
set -euo pipefail
if [ $# -ne 4 ]; then
  echo "usage: $0 NAME VERSION REQUIREMENT COMMAND" >&2
  exit 2
fi
name="$1" version="$2" requirement="$3" command="$4"
cache="${AI_APISERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ai-apiserver}"
dir="$cache/$name-$version"
bin="$dir/bin/$command"
if [ -x "$bin" ] && [ -f "$dir/.complete" ]; then
  echo "$bin"
  exit 0
fi
echo "installing $name $version (first run only)" >&2
rm -rf "$dir"
python3 -m venv "$dir" >&2
"$dir/bin/pip" install --quiet --disable-pip-version-check "$requirement==$version" >&2
touch "$dir/.complete"
echo "$bin"
