#!/usr/bin/env bash
# Build Berth's images without any container registry (see docs/images.md).
#
#   bash images/build-offline.sh [options] [IMAGE...]      (npm run images:offline -- [options] [IMAGE...])
#
# IMAGE: base node postgres caddy singleuser openldap oidc-demo pytools dind registry hub proxy docker-guard app (app = hub + proxy +
# docker-guard). Default: all, in that order.
# Options:
#   --force, -f     rebuild the selected images even if they exist and are up to date
#   --no-app        do not build berth/hub:dev, berth/proxy:dev and berth/docker-guard:dev
#   --no-env        do not write the project's .env
#   --no-host-ca    do not trust the host's locally added CAs in build stages
#   --verbose, -v   stream docker build output (it always goes to images/.cache/logs/)
#   --help, -h      this text
# Environment: BERTH_HUB_IMAGE, BERTH_PROXY_IMAGE, BERTH_DOCKER_GUARD_IMAGE name the app images (the same variables
# compose reads), so a second checkout can build its own, e.g. BERTH_HUB_IMAGE=berth/hub:mybranch.
#
# Third-party images (base, node, postgres, caddy, singleuser, openldap, oidc-demo, pytools, dind, registry) are skipped when present and built from
# the current images/<name>/ files; hub, proxy and docker-guard are always rebuilt (the layer cache makes that cheap).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGES_DIR="$ROOT/images"
CACHE_DIR="$IMAGES_DIR/.cache"
LOG_DIR="$CACHE_DIR/logs"
ENV_FILE="${BERTH_ENV_FILE:-$ROOT/.env}"

DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${BERTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
HOST_CA_DIR=/usr/local/share/ca-certificates

IMG_BASE=berth/debian:bookworm
IMG_NODE=berth/node:22
IMG_NODE_BUILD=berth/node:22-build
IMG_POSTGRES=berth/postgres:15
IMG_CADDY=berth/caddy:2
IMG_SINGLEUSER=berth/singleuser:lab
IMG_OPENLDAP=berth/openldap:2.5
IMG_OIDC_DEMO=berth/oidc-demo:dev
IMG_PYTOOLS=berth/pytools:6.1
IMG_DIND=berth/dind:20.10
IMG_REGISTRY=berth/registry:2.8
# The app images honour the names compose reads, so a second checkout can build and test its own copies.
IMG_HUB=${BERTH_HUB_IMAGE:-berth/hub:dev}
IMG_PROXY=${BERTH_PROXY_IMAGE:-berth/proxy:dev}
IMG_DOCKER_GUARD=${BERTH_DOCKER_GUARD_IMAGE:-berth/docker-guard:dev}
ALL_NAMES=(base node postgres caddy singleuser openldap oidc-demo pytools dind registry hub proxy docker-guard)

FORCE=0 NO_APP=0 WRITE_ENV=1 HOST_CA=1 VERBOSE=0
WANT=()

usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --force|-f) FORCE=1 ;;
    --no-app) NO_APP=1 ;;
    --no-env) WRITE_ENV=0 ;;
    --no-host-ca) HOST_CA=0 ;;
    --verbose|-v) VERBOSE=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    app) WANT+=(hub proxy docker-guard) ;;
    base|node|postgres|caddy|singleuser|openldap|oidc-demo|pytools|dind|registry|hub|proxy|docker-guard) WANT+=("$1") ;;
    *) echo "unknown image: $1 (expected one of: ${ALL_NAMES[*]} app)" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf '    warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap needs it)"
command -v docker >/dev/null || die "docker is not installed (bash .ci/install-docker.sh installs it)"
docker info >/dev/null 2>&1 || die "cannot talk to the Docker engine (is dockerd running? bash .ci/install-docker.sh starts it)"

# The legacy builder: no BuildKit frontend image to pull, and it works on a bare Engine 20.10.
export DOCKER_BUILDKIT=0 DOCKER_CLI_HINTS=false

mkdir -p "$LOG_DIR"
# One build at a time (several engineers, one engine).
exec 9>"$CACHE_DIR/build.lock"
if ! flock -n 9; then
  info "another build-offline.sh is running; waiting for it"
  flock 9
fi

wanted() {
  local w
  [ ${#WANT[@]} -eq 0 ] && return 0
  for w in "${WANT[@]}"; do [ "$w" = "$1" ] && return 0; done
  return 1
}

exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }
image_label() { docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }
now() { date +%s; }

SUMMARY=()
record() { SUMMARY+=("$(printf '%-24s %s' "$1" "$2")"); }

# ---------------------------------------------------------------------------- extra CAs
# Behind a TLS-intercepting proxy, npm and pip inside builds must trust the proxy's CA. Debian keeps
# locally added CAs in /usr/local/share/ca-certificates; they are passed to *build* stages only
# (berth/node:22-build and the singleuser venv stage), never to a runtime image.
EXTRA_CA_CERTS=""
if [ "$HOST_CA" = 1 ]; then
  ca_files=()
  if [ -d "$HOST_CA_DIR" ]; then
    while IFS= read -r -d '' f; do ca_files+=("$f"); done < <(find "$HOST_CA_DIR" -type f -name '*.crt' -print0 | sort -z)
  fi
  if [ -n "${BERTH_EXTRA_CA_FILE:-}" ]; then
    [ -r "$BERTH_EXTRA_CA_FILE" ] || die "BERTH_EXTRA_CA_FILE=$BERTH_EXTRA_CA_FILE is not readable"
    ca_files+=("$BERTH_EXTRA_CA_FILE")
  fi
  if [ ${#ca_files[@]} -gt 0 ]; then
    EXTRA_CA_CERTS="$(cat "${ca_files[@]}")"
  fi
fi
ca_count() { printf '%s\n' "$EXTRA_CA_CERTS" | grep -c 'BEGIN CERTIFICATE' || true; }

# ---------------------------------------------------------------------------- helpers
# kit_hash DIR [EXTRA...]: a fingerprint of an image's build inputs, stored as a label, so a changed
# Dockerfile (or base image) makes the existing image stale and it is rebuilt without --force.
kit_hash() {
  local dir="$1"; shift
  {
    (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    printf '%s\n' "$@"
  } | sha256sum | cut -c1-16
}

# needs_build TAG HASH: 0 if TAG must be (re)built, printing why; 1 if it can be skipped.
needs_build() {
  local tag="$1" hash="$2" have
  if ! exists "$tag"; then return 0; fi
  if [ "$FORCE" = 1 ]; then info "exists, --force given: rebuilding"; return 0; fi
  have="$(image_label "$tag" org.berth.kit-hash)"
  if [ -n "$hash" ] && [ "$have" != "$hash" ]; then
    info "exists but its build inputs changed ($have -> $hash): rebuilding"
    return 0
  fi
  return 1
}

# docker_build NAME TAG CONTEXT [docker build args...]
docker_build() {
  local name="$1" tag="$2" ctx="$3"; shift 3
  local logf="$LOG_DIR/$name.log"
  local shown=() a
  for a in "$@"; do
    case "$a" in EXTRA_CA_CERTS=*) shown+=("EXTRA_CA_CERTS=<$(ca_count) PEM certificate(s)>") ;; *) shown+=("$a") ;; esac
  done
  info "docker build ${shown[*]} -t $tag ${ctx#"$ROOT"/}  (log: ${logf#"$ROOT"/})"
  local rc=0
  if [ "$VERBOSE" = 1 ]; then
    docker build --pull=false "$@" -t "$tag" "$ctx" 2>&1 | tee "$logf" || rc=$?
  else
    docker build --pull=false "$@" -t "$tag" "$ctx" >"$logf" 2>&1 || rc=$?
  fi
  if [ "$rc" != 0 ]; then
    printf '\n----- last lines of %s -----\n' "$logf" >&2
    grep -v -e '^DEPRECATED' -e 'BuildKit is currently disabled' -e 'environment-variable\.' "$logf" | tail -n 40 >&2
    die "building $tag failed (full log: $logf)"
  fi
}

ensure_base() {
  exists "$IMG_BASE" || { info "$IMG_BASE is missing: building it first"; build_base; }
}

# ---------------------------------------------------------------------------- base
build_base() {
  local tag="$IMG_BASE" start rootfs
  log "building $tag ..."
  if exists "$tag" && [ "$FORCE" = 0 ]; then
    info "skip (exists)"; record "$tag" "skipped (exists)"; return
  fi
  start=$(now)
  if ! command -v debootstrap >/dev/null; then
    info "installing debootstrap (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  rootfs="$(mktemp -d /var/tmp/berth-rootfs.XXXXXX)"
  # shellcheck disable=SC2064
  trap "rm -rf '$rootfs'" EXIT
  mkdir -p "$CACHE_DIR/debootstrap"
  info "debootstrap --variant=minbase --include=ca-certificates $DEBIAN_SUITE $DEBIAN_MIRROR"
  debootstrap --variant=minbase --include=ca-certificates \
    --cache-dir="$CACHE_DIR/debootstrap" \
    "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$LOG_DIR/base.log" 2>&1 \
    || { tail -n 30 "$LOG_DIR/base.log" >&2; die "debootstrap failed (log: $LOG_DIR/base.log)"; }

  # Make it look like the official debian image: all suites, no caches, lean apt and dpkg.
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
  : >"$rootfs/etc/machine-id"
  rm -f "$rootfs/etc/hostname" "$rootfs/etc/resolv.conf"

  info "docker import -> $tag"
  tar --numeric-owner -C "$rootfs" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' \
    -c 'LABEL org.opencontainers.image.title=berth/debian' \
    -c 'CMD ["bash"]' \
    -m "debootstrap --variant=minbase --include=ca-certificates $DEBIAN_SUITE $DEBIAN_MIRROR" \
    - "$tag" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  info "done in $(( $(now) - start ))s"
  record "$tag" "built in $(( $(now) - start ))s"
}

# ---------------------------------------------------------------------------- Dockerfile images
# build_kit_image NAME TAG [--target T] [--build-arg ...]: images/NAME/Dockerfile FROM berth/debian.
build_kit_image() {
  local name="$1" tag="$2"; shift 2
  local ctx="$IMAGES_DIR/$name" start hash
  log "building $tag ..."
  ensure_base
  hash="$(kit_hash "$ctx" "$(image_id "$IMG_BASE")" "$@")"
  if ! needs_build "$tag" "$hash"; then
    info "skip (exists)"; record "$tag" "skipped (exists)"; return
  fi
  start=$(now)
  docker_build "$name-${tag##*:}" "$tag" "$ctx" --label "org.berth.kit-hash=$hash" "$@"
  info "done in $(( $(now) - start ))s"
  record "$tag" "built in $(( $(now) - start ))s"
}

build_node() {
  build_kit_image node "$IMG_NODE" --target runtime
  local ca_args=()
  if [ -n "$EXTRA_CA_CERTS" ]; then
    ca_args=(--build-arg "EXTRA_CA_CERTS=$EXTRA_CA_CERTS")
  fi
  build_kit_image node "$IMG_NODE_BUILD" --target build "${ca_args[@]}"
}

build_singleuser() {
  local ca_args=()
  if [ -n "$EXTRA_CA_CERTS" ]; then
    ca_args=(--build-arg "EXTRA_CA_CERTS=$EXTRA_CA_CERTS")
  fi
  # The CA only reaches the venv build stage, so it does not count as a change of the image.
  local ctx="$IMAGES_DIR/singleuser" tag="$IMG_SINGLEUSER" start hash
  log "building $tag ..."
  ensure_base
  hash="$(kit_hash "$ctx" "$(image_id "$IMG_BASE")")"
  if ! needs_build "$tag" "$hash"; then
    info "skip (exists)"; record "$tag" "skipped (exists)"; return
  fi
  start=$(now)
  docker_build singleuser "$tag" "$ctx" --label "org.berth.kit-hash=$hash" "${ca_args[@]}"
  if [ "$(docker run --rm --entrypoint cat "$tag" /opt/venv/.berth-source 2>/dev/null)" = debian ]; then
    warn "PyPI was unreachable: $tag fell back to Debian's jupyterhub 3.0 (notebook 6), not JupyterLab 4"
  fi
  info "$(docker run --rm --entrypoint jupyterhub-singleuser "$tag" --version 2>/dev/null | tail -n1 | sed 's/^/jupyterhub-singleuser /')"
  info "done in $(( $(now) - start ))s"
  record "$tag" "built in $(( $(now) - start ))s"
}

# The Python tools image (JupyterHub 6.1, jupyterhub-idle-culler, schemathesis) for compatibility tests,
# fuzzing and benchmarks; like singleuser, the CA only reaches the venv stage.
build_pytools() {
  local ca_args=()
  if [ -n "$EXTRA_CA_CERTS" ]; then
    ca_args=(--build-arg "EXTRA_CA_CERTS=$EXTRA_CA_CERTS")
  fi
  local ctx="$IMAGES_DIR/pytools" tag="$IMG_PYTOOLS" start hash
  log "building $tag ..."
  ensure_base
  hash="$(kit_hash "$ctx" "$(image_id "$IMG_BASE")")"
  if ! needs_build "$tag" "$hash"; then
    info "skip (exists)"; record "$tag" "skipped (exists)"; return
  fi
  start=$(now)
  docker_build pytools "$tag" "$ctx" --label "org.berth.kit-hash=$hash" "${ca_args[@]}"
  info "done in $(( $(now) - start ))s"
  record "$tag" "built in $(( $(now) - start ))s"
}

# The oidc-demo profile's OpenID Provider: oidc-provider from npm on berth/node:22 (the build stage trusts the
# extra CAs already). Rebuilt when images/oidc-demo/ or either node image changes.
build_oidc_demo() {
  local ctx="$IMAGES_DIR/oidc-demo" tag="$IMG_OIDC_DEMO" start hash
  log "building $tag ..."
  if ! exists "$IMG_NODE" || ! exists "$IMG_NODE_BUILD"; then
    info "node images missing: building them first"
    build_node
  fi
  hash="$(kit_hash "$ctx" "$(image_id "$IMG_NODE")" "$(image_id "$IMG_NODE_BUILD")")"
  if ! needs_build "$tag" "$hash"; then
    info "skip (exists)"; record "$tag" "skipped (exists)"; return
  fi
  start=$(now)
  docker_build oidc-demo "$tag" "$ctx" --label "org.berth.kit-hash=$hash" \
    --build-arg "NODE_BUILD_IMAGE=$IMG_NODE_BUILD" --build-arg "NODE_IMAGE=$IMG_NODE"
  info "done in $(( $(now) - start ))s"
  record "$tag" "built in $(( $(now) - start ))s"
}

# ---------------------------------------------------------------------------- hub and proxy
build_app() {
  local target="$1" tag="$2" start
  log "building $tag ..."
  # the Dockerfile's build stage compiles both services
  local svc
  for svc in hub proxy; do
    if [ ! -f "$ROOT/services/$svc/src/main.ts" ]; then
      warn "services/$svc/src/main.ts does not exist yet: skip"
      record "$tag" "skipped (no services/$svc/src/main.ts)"
      return
    fi
  done
  if ! exists "$IMG_NODE" || ! exists "$IMG_NODE_BUILD"; then
    info "node images missing: building them first"
    build_node
  fi
  start=$(now)
  docker_build "$target" "$tag" "$ROOT" -f "$ROOT/Dockerfile" --target "$target" \
    --build-arg "NODE_BUILD_IMAGE=$IMG_NODE_BUILD" --build-arg "NODE_IMAGE=$IMG_NODE"
  info "done in $(( $(now) - start ))s"
  record "$tag" "built in $(( $(now) - start ))s"
}

# ---------------------------------------------------------------------------- .env
# Set KEY=VALUE lines in .env, replacing those keys and keeping every other line as it is.
write_env() {
  local -a pairs=(
    "BERTH_NODE_IMAGE=$IMG_NODE"
    "BERTH_NODE_BUILD_IMAGE=$IMG_NODE_BUILD"
    "BERTH_POSTGRES_IMAGE=$IMG_POSTGRES"
    "BERTH_CADDY_IMAGE=$IMG_CADDY"
    "BERTH_SINGLEUSER_IMAGE=$IMG_SINGLEUSER"
  )
  local sock="${DOCKER_HOST:-unix:///var/run/docker.sock}"
  sock="${sock#unix://}"
  if [ -S "$sock" ]; then
    pairs+=("DOCKER_GID=$(stat -c %g "$sock")")
  else
    warn "no Docker socket at $sock: DOCKER_GID not written"
  fi
  log "writing ${ENV_FILE#"$ROOT"/} ..."
  local tmp keys="" p
  for p in "${pairs[@]}"; do keys="$keys ${p%%=*}"; done
  tmp="$(mktemp "$ENV_FILE.XXXXXX")"
  if [ -f "$ENV_FILE" ]; then
    # drop the lines that set our keys (KEY=..., export KEY=..., with any spacing); keep the rest
    awk -v keys="$keys" '
      BEGIN { n = split(keys, k, " "); for (i = 1; i <= n; i++) drop[k[i]] = 1 }
      {
        line = $0; sub(/^[ \t]*(export[ \t]+)?/, "", line)
        key = line; sub(/[ \t]*=.*$/, "", key)
        if (line ~ /^[A-Za-z_][A-Za-z0-9_]*[ \t]*=/ && (key in drop)) next
        print
      }' "$ENV_FILE" >"$tmp"
    chmod --reference="$ENV_FILE" "$tmp"
  else
    printf '# Written by images/build-offline.sh; other lines you add here are kept.\n' >"$tmp"
    chmod 0644 "$tmp"
  fi
  # make sure the file ends with a newline before appending
  if [ -s "$tmp" ] && [ "$(tail -c1 "$tmp" | od -An -c | tr -d ' ')" != '\n' ]; then echo >>"$tmp"; fi
  for p in "${pairs[@]}"; do printf '%s\n' "$p" >>"$tmp"; info "$p"; done
  mv -f "$tmp" "$ENV_FILE"
}

# ---------------------------------------------------------------------------- main
TOTAL_START=$(now)
info "Docker $(docker version -f '{{.Server.Version}}' 2>/dev/null), legacy builder, logs in ${LOG_DIR#"$ROOT"/}/"

# The base image first, and fast: everything else is FROM it.
wanted base && build_base
wanted node && build_node
wanted postgres && build_kit_image postgres "$IMG_POSTGRES"
wanted caddy && build_kit_image caddy "$IMG_CADDY"
wanted singleuser && build_singleuser
wanted openldap && build_kit_image openldap "$IMG_OPENLDAP"
wanted oidc-demo && build_oidc_demo
wanted pytools && build_pytools
wanted dind && build_kit_image dind "$IMG_DIND"
wanted registry && build_kit_image registry "$IMG_REGISTRY"

[ "$WRITE_ENV" = 1 ] && write_env

if [ "$NO_APP" = 0 ]; then
  wanted hub && build_app hub "$IMG_HUB"
  wanted proxy && build_app proxy "$IMG_PROXY"
  wanted docker-guard && build_app docker-guard "$IMG_DOCKER_GUARD"
fi

log "summary"
for line in "${SUMMARY[@]}"; do info "$line"; done
log "all done in $(( $(now) - TOTAL_START ))s"
