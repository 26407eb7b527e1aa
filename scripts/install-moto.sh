#!/usr/bin/env bash
# Installs the moto S3-compatible server from PyPI (scripts/install-python-tool.sh) and prints the path of its
# `moto_server` command. The dataset loader's tests run it as a real S3 endpoint.
set -euo pipefail
exec bash "$(dirname "$0")/install-python-tool.sh" moto "${MOTO_VERSION:-5.1.22}" 'moto[server,s3,iam]' moto_server
