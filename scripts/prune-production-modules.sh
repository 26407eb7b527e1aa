#!/usr/bin/env bash
# Drops from a production node_modules (npm ci --omit=dev) what nothing loads at run time: type declarations,
# source maps and markdown, and better-sqlite3's C sources and compiler output beside the one module it loads.
# Shared by the Containerfile and scripts/build-image.sh, so both images hold the same files.
set -euo pipefail
modules="${1:?usage: prune-production-modules.sh NODE_MODULES_DIR}"
find "$modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.md' \) -delete
sqlite="$modules/better-sqlite3"
# Fail here rather than in the image: the module must have been built for this node before it is pruned.
[ -f "$sqlite/build/Release/better_sqlite3.node" ] || { echo "$sqlite/build/Release/better_sqlite3.node is missing" >&2; exit 1; }
rm -rf "$sqlite/deps" "$sqlite/src"
find "$sqlite/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
find "$sqlite/build/Release" -mindepth 1 -maxdepth 1 ! -name better_sqlite3.node -exec rm -rf {} +
