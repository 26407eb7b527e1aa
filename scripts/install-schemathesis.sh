#!/usr/bin/env bash
# Installs the schemathesis fuzzer from PyPI (scripts/install-python-tool.sh) and prints the path of its `st` command.
set -euo pipefail
exec bash "$(dirname "$0")/install-python-tool.sh" schemathesis "${SCHEMATHESIS_VERSION:-4.32.5}" schemathesis st
