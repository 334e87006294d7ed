#!/usr/bin/env bash
# Build Berth's images without any container registry (see docs/images.md).
#
#   bash images/build-offline.sh [--force] [--no-app] [--no-env] [IMAGE...]
#
# IMAGE is one of: base node postgres caddy singleuser app (default: all, in that order).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGES_DIR="$ROOT/images"
CACHE_DIR="$IMAGES_DIR/.cache"

DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${BERTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
NODE_VERSION=22.23.3

BASE_IMAGE=berth/debian:bookworm

FORCE=0
NO_APP=0
WRITE_ENV=1
WANT=()

usage() {
  sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
  case "$1" in
    --force|-f) FORCE=1 ;;
    --no-app) NO_APP=1 ;;
    --no-env) WRITE_ENV=0 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) WANT+=("$1") ;;
  esac
  shift
done

log() { printf '==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap needs it)"
command -v docker >/dev/null || die "docker is not installed (see .ci/install-docker.sh)"
docker info >/dev/null 2>&1 || die "cannot talk to the Docker engine (is dockerd running?)"

# Never let BuildKit try to pull a frontend or anything else: use the legacy builder.
export DOCKER_BUILDKIT=0

wanted() {
  [ ${#WANT[@]} -eq 0 ] && return 0
  local w
  for w in "${WANT[@]}"; do [ "$w" = "$1" ] && return 0; done
  return 1
}

exists() { docker image inspect "$1" >/dev/null 2>&1; }

elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

# ---------------------------------------------------------------------------- base
build_base() {
  local tag="$BASE_IMAGE" start rootfs
  if [ "$FORCE" = 0 ] && exists "$tag"; then
    log "building $tag ... skip (exists)"
    return
  fi
  log "building $tag ..."
  start=$(date +%s)
  if ! command -v debootstrap >/dev/null; then
    info "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  rootfs="$(mktemp -d /var/tmp/berth-rootfs.XXXXXX)"
  # shellcheck disable=SC2064
  trap "rm -rf '$rootfs'" EXIT
  mkdir -p "$CACHE_DIR/debootstrap"
  info "debootstrap --variant=minbase $DEBIAN_SUITE (mirror $DEBIAN_MIRROR)"
  debootstrap --variant=minbase --include=ca-certificates \
    --cache-dir="$CACHE_DIR/debootstrap" \
    "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$CACHE_DIR/debootstrap.log" 2>&1 \
    || { tail -n 30 "$CACHE_DIR/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE_DIR/debootstrap.log)"; }

  # Make it look like the official debian image: full sources, no caches, slim apt.
  cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $DEBIAN_MIRROR $DEBIAN_SUITE main
deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main
deb http://deb.debian.org/debian-security $DEBIAN_SUITE-security main
SOURCES
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  cat >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT
  cat >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes" <<'APT'
Acquire::GzipIndexes "true";
APT
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-excludes" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
DPKG
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/var/tmp/*
  : >"$rootfs/etc/machine-id" 2>/dev/null || true
  rm -f "$rootfs/etc/hostname" "$rootfs/etc/resolv.conf"

  info "docker import -> $tag"
  tar --numeric-owner -C "$rootfs" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' \
    -c 'CMD ["bash"]' \
    -m "debootstrap --variant=minbase --include=ca-certificates $DEBIAN_SUITE $DEBIAN_MIRROR" \
    - "$tag" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  info "done $tag in $(elapsed "$start")"
}

# ---------------------------------------------------------------------------- main
TOTAL_START=$(date +%s)
wanted base && build_base
log "all done in $(elapsed "$TOTAL_START")"
