#!/bin/sh
# Starts dockerd inside a privileged (or all-capabilities, unconfined) container, with the steps of the upstream
# dind script that a Debian engine on a cgroup v1 or v2 host needs, listening on the unix socket and on tcp :2375
# (plain: test networks only).
# Extra arguments go to dockerd.
set -eu

# AppArmor and friends read securityfs; a fresh container does not have it mounted.
if [ -d /sys/kernel/security ] && ! mountpoint -q /sys/kernel/security; then
  mount -t securityfs none /sys/kernel/security || echo "dind: could not mount securityfs" >&2
fi

# Without --privileged (some hosts cannot grant every capability, see test/support/swarm.ts) the cgroup
# filesystems are mounted read-only; dockerd must create its containers' cgroups there.
for m in $(awk '$5 == "/sys/fs/cgroup" || $5 ~ "^/sys/fs/cgroup/" { print $5 }' /proc/self/mountinfo); do
  mount -o remount,rw "$m" 2>/dev/null || mount -o remount,rw,bind "$m" 2>/dev/null \
    || echo "dind: could not make $m writable" >&2
done

# cgroup v2: move this container's processes out of the root cgroup so dockerd can enable controllers for
# its children ("no internal processes" rule).
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
  sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers > /sys/fs/cgroup/cgroup.subtree_control || :
fi

# A container restarted from the same volume keeps stale pid files.
rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid

# --tls=false: say so explicitly, or dockerd 20.10 waits 15 s before listening on plain tcp.
exec dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false "$@"
