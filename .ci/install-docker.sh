#!/usr/bin/env bash
# Make a fresh Debian bookworm machine (root, no systemd) ready for Berth's CI. Idempotent: every step
# checks first and only does what is missing.
#
#   1. a Docker engine (Debian's docker.io, 20.10), started with dockerd in the background
#   2. Compose v2 and buildx as CLI plugins, from Debian trixie's .debs (fetched with a private apt
#      source list and state, so the system's apt sources are left alone), next to Debian's Compose v1
#   3. debootstrap (for images/build-offline.sh) and chromium (for the browser tests)
#
# Environment: BERTH_SKIP_CHROMIUM=1 skips chromium; DEBIAN_MIRROR overrides http://deb.debian.org/debian.
set -euo pipefail

MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1

step() { printf '==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root"

APT_UPDATED=0
apt_update() {
  if [ "$APT_UPDATED" = 0 ]; then
    info "apt-get update"
    apt-get update -qq
    APT_UPDATED=1
  fi
}
# apt_install PKG...: install the packages that are not installed yet
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    info "already installed: $*"
    return
  fi
  apt_update
  info "apt-get install ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ------------------------------------------------------------------ 1. Docker engine
step "Docker engine"
if docker info >/dev/null 2>&1; then
  info "already running: $(docker version -f 'server {{.Server.Version}}, client {{.Client.Version}}' 2>/dev/null)"
else
  apt_install docker.io containerd runc iptables
  if ! docker info >/dev/null 2>&1; then
    if [ -s /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
      info "dockerd is already starting (pid $(cat /var/run/docker.pid))"
    else
      info "starting dockerd (log: /var/log/dockerd.log)"
      nohup dockerd >/var/log/dockerd.log 2>&1 &
    fi
    for _ in $(seq 1 60); do
      docker info >/dev/null 2>&1 && break
      sleep 1
    done
    if ! docker info >/dev/null 2>&1; then
      tail -n 30 /var/log/dockerd.log >&2 || true
      die "dockerd did not answer within 60 s"
    fi
  fi
  info "running: $(docker version -f 'server {{.Server.Version}}, client {{.Client.Version}}')"
fi

# ------------------------------------------------------------------ 2. Compose v2 + buildx, and v1
step "Compose and buildx"
apt_install docker-compose   # Debian's Compose v1 (1.29), kept as `docker-compose`
if docker compose version >/dev/null 2>&1 && docker buildx version >/dev/null 2>&1; then
  info "already there: $(docker compose version), buildx $(docker buildx version | awk '{print $2}')"
else
  work="$(mktemp -d /tmp/berth-trixie.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/cache" "$work/debs" "$work/x"
  # apt downloads as the unprivileged _apt user: let it write where we download to
  chmod 0755 "$work"
  if id _apt >/dev/null 2>&1; then chown -R _apt:root "$work/lists" "$work/archives" "$work/debs"; fi
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" >"$work/trixie.list"
  apt_private=(
    -o "Dir::Etc::sourcelist=$work/trixie.list"
    -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$work/lists"
    -o "Dir::Cache=$work/cache"
    -o "Dir::Cache::Archives=$work/archives"
    -o "APT::Get::List-Cleanup=0"
  )
  info "fetching Debian trixie's docker-compose and docker-buildx (private apt lists in $work)"
  apt-get "${apt_private[@]}" update -qq
  (cd "$work/debs" && apt-get "${apt_private[@]}" download docker-compose docker-buildx >/dev/null)
  for deb in "$work"/debs/*.deb; do
    info "$(basename "$deb")"
    dpkg-deb -x "$deb" "$work/x"
  done
  mkdir -p "$PLUGIN_DIR"
  for plugin in docker-compose docker-buildx; do
    src="$(find "$work/x" -path "*/cli-plugins/$plugin" \( -type f -o -type l \) | head -n1)"
    [ -n "$src" ] || die "$plugin not found in the trixie .deb"
    install -m 0755 "$(readlink -f "$src")" "$PLUGIN_DIR/$plugin"
    info "installed $PLUGIN_DIR/$plugin"
  done
  rm -rf "$work"
  trap - EXIT
fi
docker compose version >/dev/null 2>&1 || die "docker compose does not work"
info "$(docker compose version)"
info "docker buildx $(docker buildx version 2>/dev/null | awk '{print $2}')"
info "docker-compose (v1) $(docker-compose version --short 2>/dev/null || echo missing)"

# ------------------------------------------------------------------ 3. debootstrap, chromium
step "debootstrap, openssl (test CAs), ca-certificates"
apt_install debootstrap openssl ca-certificates
if [ "${BERTH_SKIP_CHROMIUM:-0}" = 1 ]; then
  step "chromium: skipped (BERTH_SKIP_CHROMIUM=1)"
else
  step "chromium (browser tests)"
  apt_install chromium
  info "$(chromium --version 2>/dev/null || echo 'chromium installed')"
fi

step "done"
