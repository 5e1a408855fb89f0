#!/usr/bin/env bash
# Builds stand-ins for the upstream images docker-compose.yml uses, with no image
# registry: a Debian rootfs from debootstrap (Debian's apt repositories only),
# imported as a base image; this machine's node and npm on it; Debian's
# redis-server and haproxy on it. Images that already exist are kept.
#
# Prints the variables to export for docker-compose.yml, e.g.
#   eval "$(infra/docker/build-local-images.sh)"
# Needs root, debootstrap and a running Docker engine. Progress goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
suite="${DEBIAN_SUITE:-bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
prefix="${LOCAL_IMAGE_PREFIX:-switchboard-local}"
base="$prefix/debian:$suite"
node_image="$prefix/node:$(node -p 'process.versions.node.split(".")[0]')"
redis_image="$prefix/redis:$suite"
haproxy_image="$prefix/haproxy:$suite"

say() { printf '[local-images] %s\n' "$*" >&2; }
have() { docker image inspect "$1" >/dev/null 2>&1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if have "$base"; then
  say "$base exists"
else
  command -v debootstrap >/dev/null || { say "debootstrap is missing: apt-get install debootstrap"; exit 1; }
  say "debootstrap $suite (minbase) from $mirror"
  debootstrap --variant=minbase "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -c . | docker import -c 'CMD ["/bin/bash"]' - "$base" >/dev/null
  rm -rf "$work/rootfs"
  say "imported $base"
fi

build() { # image dockerfile context: always built, so a changed Dockerfile is picked up (the layer cache keeps it fast)
  say "building $1"
  docker build -q --build-arg "BASE_IMAGE=$base" -t "$1" -f "$2" "$3" >/dev/null
}

mkdir -p "$work/node"
cp "$(command -v node)" "$work/node/node"
npm_root="$(npm root -g)/npm"
cp -r "$npm_root" "$work/node/npm"
cp /etc/ssl/certs/ca-certificates.crt "$work/node/ca-certificates.crt"
build "$node_image" "$here/node.Dockerfile" "$work/node"
build "$redis_image" "$here/redis.Dockerfile" "$here"
build "$haproxy_image" "$here/haproxy.Dockerfile" "$here"

echo "export NODE_IMAGE=$node_image REDIS_IMAGE=$redis_image HAPROXY_IMAGE=$haproxy_image"
