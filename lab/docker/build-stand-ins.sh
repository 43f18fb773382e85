#!/usr/bin/env bash
# Builds, on this machine, stand-ins for the official base images docker-compose.yml and the
# Dockerfile name (no registry is reachable here), under the same names and tags. Each is made
# from Debian packages on a debootstrapped bookworm root filesystem and honours the part of the
# official image's contract the compose file relies on (docs/docker.md says what that is and what
# it is not). The stand-ins never leave the machine: never push them.
#
# Reuse first, as CI's budget is 20 minutes: the rootfs tarball is kept under $STAMPEDE_DOCKER_CACHE,
# and an image whose tag exists with the hash of its current stand-in directory is not rebuilt.
# From nothing, the five images after the shared base are built side by side (their time is
# mostly apt downloads), each build container at a low CPU weight, so a build started beside
# the test suite (.ci/run does) takes the CPU the tests leave idle.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${STAMPEDE_DOCKER_CACHE:-/var/cache/stampede-docker}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
base=stampede-stand-in/bookworm:minbase
label=org.stampede.stand-in

log() { printf '[stand-ins] %s\n' "$*" >&2; }
have() { docker image inspect "$1" >/dev/null 2>&1; }
# the hash of a stand-in's directory (and of the base it builds on), stored as a label
digest() { (cd "$here/stand-ins" && find "$@" -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16; }
current() { [ "$(docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$1" 2>/dev/null)" = "$2" ]; }

mkdir -p "$cache"

# --- the root filesystem: debootstrap once, then the cached tarball ------------------------
if ! have "$base"; then
  tarball="$cache/bookworm-minbase.tar.gz"
  if [ ! -s "$tarball" ]; then
    log "debootstrap bookworm (minbase) into $tarball"
    root="$(mktemp -d "$cache/rootfs.XXXXXX")"
    trap 'rm -rf "$root"' EXIT
    debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | gzip -1 >"$tarball.tmp" && mv "$tarball.tmp" "$tarball"
    rm -rf "$root"; trap - EXIT
  fi
  log "docker import $tarball as $base"
  docker import "$tarball" "$base" >/dev/null
fi

# --- Node: the binary of the npm package node@<major> (the version the Dockerfile names) ---
node_context() {
  local major="$1" dir="$cache/node-$1"
  if [ ! -x "$dir/node/bin/node" ] || [ ! -f "$dir/npm/node_modules/npm/package.json" ]; then
    log "node@$major and npm from the npm registry into $dir"
    rm -rf "$dir" && mkdir -p "$dir/pkg"
    npm install --prefix "$dir/pkg" --no-audit --no-fund --no-save "node@$major" >/dev/null
    mkdir -p "$dir/node/bin" && cp -L "$dir/pkg/node_modules/node/bin/node" "$dir/node/bin/node"
    # the node package carries the binary only; npm (which the Dockerfile runs) is its own package
    npm install --prefix "$dir/npm" --no-audit --no-fund --no-save npm@11 >/dev/null
    rm -rf "$dir/pkg"
  fi
  echo "$dir"
}

# build <image:tag> <stand-in dir> [context]: skipped when the tag exists at the current hash
build() {
  local image="$1" dir="$2" context="${3:-$here/stand-ins}" sum
  sum="$(digest base "$dir")"
  if [ "$dir" = node ]; then sum="$sum-$(cat "$context"/ca/* 2>/dev/null | sha256sum | cut -c1-8)"; fi
  if current "$image" "$sum"; then log "$image: present"; return; fi
  log "$image: building (stand-ins/$dir)"
  local start=$SECONDS
  # the legacy builder (Debian's docker.io has no buildx); its output only when it fails
  DOCKER_BUILDKIT=0 docker build --cpu-shares 64 --label "$label=$sum" -f "$here/stand-ins/$dir/Dockerfile" -t "$image" \
    --build-arg "BASE=$base" "$context" >"$cache/build-$dir.log" 2>&1 || { tail -n 40 "$cache/build-$dir.log" >&2; exit 1; }
  log "$image: built in $((SECONDS - start)) s"
}

# the images every stand-in derives from: apt defaults for containers, once
build stampede-stand-in/bookworm:base base

repo="$(cd "$here/../.." && pwd)"
# node:<major>-alpine as the Dockerfile names it
node_tag="$(sed -n 's/^FROM \(node:[^ ]*\).*/\1/p' "$repo/Dockerfile" | sort -u)"
[ "$(printf '%s\n' "$node_tag" | wc -l)" -eq 1 ] || { log "the Dockerfile names more than one node image"; exit 1; }
node_major="${node_tag#node:}"; node_major="${node_major%%[-.]*}"
ctx="$(node_context "$node_major")"
# the machine's own certificate authorities (an intercepting egress proxy's, for one), so the
# Dockerfile's npm ci reaches the registry from inside a build as npm does on the host
rm -rf "$ctx/ca" && mkdir -p "$ctx/ca"
cp /usr/local/share/ca-certificates/*.crt "$ctx/ca/" 2>/dev/null || true
# the services' images, by the names and tags the compose file gives; all five at once
image_of() { sed -n "s/^    image: \($1[:][^ ]*\)$/\1/p" "$repo/docker-compose.yml"; }
pids=()
build "$node_tag" node "$ctx" & pids+=($!)
for service in postgres redis rabbitmq nginx; do
  build "$(image_of "$service")" "$service" & pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" = 0 ] || { log "a stand-in failed to build (its log is above)"; exit 1; }
