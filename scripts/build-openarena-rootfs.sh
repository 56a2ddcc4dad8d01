#!/usr/bin/env bash
# Builds the rootfs of the OpenArena dedicated server (ioq3ded) that containers run from,
# read-only, at one fixed place that is the same on every host (as a pulled image would be):
#   /var/lib/migration-mesh/images/openarena/rootfs   (MM_OPENARENA_ROOTFS overrides it)
# and installs qstat (command `quakestat`) on the host to query game servers.
#
# Idempotent: the tree counts as built only when its stamp file (written last, next to the
# rootfs) exists; a second run checks and returns in about a second. A half-built tree from an
# interrupted run is thrown away: the build happens in a temporary directory beside the target
# and is renamed into place. Runs as root; needs the Debian mirror the host's apt uses.
#   debootstrap --variant=minbase SUITE DIR MIRROR         (~25 s)
#   chroot DIR apt-get install --no-install-recommends openarena-server   (~15 s, 418 MB)
set -euo pipefail

ROOTFS=${MM_OPENARENA_ROOTFS:-/var/lib/migration-mesh/images/openarena/rootfs}
IMAGE_DIR=$(dirname "$ROOTFS")
STAMP="$ROOTFS.stamp"
SERVER_BIN=usr/lib/ioquake3/ioq3ded
START=$(date +%s.%N)

say()  { printf 'openarena-rootfs: %s\n' "$*"; }
fail() { printf 'openarena-rootfs: FAILED: %s\n' "$*" >&2; exit 1; }
elapsed() { awk -v s="$START" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f s", e - s }'; }

[ "$(id -u)" = 0 ] || fail "must run as root (debootstrap, chroot, apt-get)"
export DEBIAN_FRONTEND=noninteractive

APT_UPDATED=0
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} = 0 ] && return 0
  if [ "$APT_UPDATED" = 0 ]; then apt-get update -qq >/dev/null || fail "apt-get update failed"; APT_UPDATED=1; fi
  say "installing on the host: ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || fail "apt-get install ${missing[*]} failed"
}

# The game prober on the host side; the server itself lives only in the rootfs.
ensure_packages qstat
command -v quakestat >/dev/null || fail "qstat is installed but quakestat is not in PATH"

mkdir -p "$IMAGE_DIR"
# One build at a time (parallel test runs on one machine share the image).
exec 9>"$IMAGE_DIR/.build.lock"
flock 9

if [ -f "$STAMP" ] && [ -x "$ROOTFS/$SERVER_BIN" ]; then
  say "ready: $ROOTFS ($(head -n1 "$STAMP")), checked in $(elapsed)"
  exit 0
fi

# --- what to build from: the host's own suite and mirror --------------------------------
# shellcheck disable=SC1091
SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$SUITE" ] || fail "no VERSION_CODENAME in /etc/os-release"
MIRROR=$(grep -rhs '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
         | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
[ -n "$MIRROR" ] || MIRROR=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
         | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit }}' | grep -E '/debian/?$' | head -n1 || true)
[ -n "$MIRROR" ] || fail "no Debian mirror (a URI ending in /debian) in /etc/apt/sources.list*"
ensure_packages debootstrap

# --- leftovers of interrupted builds ------------------------------------------------------
for old in "$IMAGE_DIR"/.build.*/; do
  [ -d "$old" ] || continue
  grep -q " ${old%/}/" /proc/mounts && umount -R -l "${old%/}/rootfs/proc" 2>/dev/null || true
  say "removing an interrupted build: ${old%/}"
  rm -rf --one-file-system "${old%/}"
done

BUILD=$(mktemp -d "$IMAGE_DIR/.build.XXXXXX")
TREE="$BUILD/rootfs"
cleanup() {
  if mountpoint -q "$TREE/proc" 2>/dev/null; then umount -l "$TREE/proc" || true; fi
  rm -rf --one-file-system "$BUILD"
}
trap cleanup EXIT

say "building $ROOTFS: debootstrap --variant=minbase $SUITE from $MIRROR"
t=$(date +%s)
debootstrap --variant=minbase "$SUITE" "$TREE" "$MIRROR" >"$BUILD/debootstrap.log" 2>&1 \
  || { tail -n 20 "$BUILD/debootstrap.log" >&2; fail "debootstrap $SUITE failed"; }
say "debootstrap done in $(( $(date +%s) - t )) s"

# No service may start inside the chroot; name resolution as on the host.
printf '#!/bin/sh\nexit 101\n' > "$TREE/usr/sbin/policy-rc.d"
chmod 0755 "$TREE/usr/sbin/policy-rc.d"
cp -L /etc/resolv.conf "$TREE/etc/resolv.conf"
mount -t proc proc "$TREE/proc"

t=$(date +%s)
say "chroot: apt-get install --no-install-recommends openarena-server"
chroot "$TREE" /bin/sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends openarena-server' \
  >"$BUILD/apt.log" 2>&1 || { tail -n 20 "$BUILD/apt.log" >&2; fail "installing openarena-server in the rootfs failed"; }
VERSION=$(chroot "$TREE" dpkg-query -W -f='${Version}' openarena-server)
chroot "$TREE" apt-get clean
umount "$TREE/proc"
rm -rf "$TREE"/var/lib/apt/lists/* "$TREE"/var/cache/apt/*.bin "$TREE"/var/log/apt/* "$TREE"/var/log/dpkg.log
say "openarena-server $VERSION installed in $(( $(date +%s) - t )) s"
[ -x "$TREE/$SERVER_BIN" ] || fail "the rootfs has no /$SERVER_BIN"

# --- into place: the old tree (if any) goes, the new one is renamed, the stamp comes last ---
rm -f "$STAMP"
if [ -e "$ROOTFS" ]; then rm -rf --one-file-system "$ROOTFS"; fi
mv "$TREE" "$ROOTFS"
printf 'openarena-server %s, %s from %s, built %s\n' "$VERSION" "$SUITE" "$MIRROR" "$(date -u +%FT%TZ)" > "$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
say "ready: $ROOTFS ($(du -sh "$ROOTFS" | cut -f1)), built in $(elapsed)"
