#!/usr/bin/env bash
# Makes this machine able to run migration-mesh: runc, CRIU >= 4.2, iptables, iproute2,
# arping, a JDK and Maven, and a pipe size that CRIU's lazy pages need.
# Idempotent: a second run checks, prints and changes nothing. Runs as root.
# Works on Debian 12 and 13 (see ../shared/PLATFORM.md for why each step is there).
set -euo pipefail

MIN_CRIU=4.2
CRIU_PREFIX=/usr/local/sbin
BUILD_ROOT=${MM_BUILD_ROOT:-/var/cache/migration-mesh}
PIPE_MAX=16777216
# Where CRIU keeps what it learnt of the kernel (criu.kdat) between runs; it must be a tmpfs
# (CRIU refuses to keep it elsewhere, and /run is not a tmpfs on every machine). Without it
# every dump and restore probes the kernel again: ~45 ms of each restore, all of it downtime.
KDAT_DIR=/run/criu-kdat

say()  { printf 'setup: %s\n' "$*"; }
fail() { printf 'setup: FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (it installs packages and builds CRIU)"
[ -r /etc/debian_version ] || fail "not a Debian machine (no /etc/debian_version)"
DEBIAN_MAJOR=$(cut -d. -f1 /etc/debian_version)
case "$DEBIAN_MAJOR" in
  12|13) say "Debian $(cat /etc/debian_version)";;
  *) say "Debian '$(cat /etc/debian_version)' is untested; going on as for Debian 13";;
esac
export DEBIAN_FRONTEND=noninteractive

APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    apt-get update -qq >/dev/null || fail "apt-get update failed"
    APT_UPDATED=1
  fi
}

# Installs the packages that are not installed yet; prints nothing when all are there.
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} = 0 ] && return 0
  apt_update_once
  say "installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || fail "apt-get install ${missing[*]} failed"
}

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

criu_version() { "$1" --version 2>/dev/null | sed -n 's/^Version: *//p' | head -n1; }

# --- runtime packages ---------------------------------------------------------------
ensure_packages runc iptables iproute2 iputils-arping iputils-ping procps rsync ethtool \
  libc6-dev gcc make ca-certificates
command -v java >/dev/null || ensure_packages openjdk-17-jdk-headless
command -v mvn  >/dev/null || ensure_packages maven
say "runc: $(runc --version | head -n1)"

# --- CRIU >= 4.2 --------------------------------------------------------------------
find_criu() {
  for c in "$CRIU_PREFIX/criu" "$(command -v criu 2>/dev/null || true)"; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    v=$(criu_version "$c")
    if [ -n "$v" ] && version_ge "$v" "$MIN_CRIU"; then echo "$c"; return 0; fi
  done
  return 1
}

CRIU_BUILD_DEPS=(build-essential pkg-config libprotobuf-dev libprotobuf-c-dev protobuf-c-compiler
  protobuf-compiler python3-protobuf libnl-3-dev libnet1-dev libcap-dev libbsd-dev
  libnftables-dev libgnutls28-dev uuid-dev libaio-dev dpkg-dev xz-utils)

add_sid_sources() {
  # A deb-src entry for sid, with the mirror and keyring the machine already uses.
  local list=/etc/apt/sources.list.d/migration-mesh-sid-src.sources
  [ -f "$list" ] && return 0
  local uri keyring
  uri=$(grep -rhs '^URIs:' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
        | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
  [ -n "$uri" ] || uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | awk '{for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' | grep -E '/debian/?$' | head -n1 || true)
  [ -n "$uri" ] || fail "no Debian mirror found in /etc/apt/sources.list* to fetch CRIU's source from"
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$keyring" ] || fail "missing $keyring (package debian-archive-keyring)"
  say "adding deb-src for sid from $uri (only to fetch CRIU's source package)"
  printf 'Types: deb-src\nURIs: %s\nSuites: sid\nComponents: main\nSigned-By: %s\n' "$uri" "$keyring" > "$list"
  APT_UPDATED=0
}

build_criu() {
  ensure_packages "${CRIU_BUILD_DEPS[@]}"
  add_sid_sources
  apt_update_once
  local dir="$BUILD_ROOT/criu-src"
  rm -rf "$dir"; mkdir -p "$dir"
  say "fetching CRIU's source package from sid"
  # Only the upstream (orig) tarball is needed; the mirror has been seen to lack the
  # debian.tar.xz, which makes apt-get fail after the orig tarball has arrived.
  (cd "$dir" && apt-get source --download-only -qq criu >"$dir/fetch.log" 2>&1) \
    || say "apt-get source criu reported errors (see $dir/fetch.log); checking the orig tarball"
  local orig dsc sum
  orig=$(ls "$dir"/criu_*.orig.tar.* 2>/dev/null | head -n1)
  dsc=$(ls "$dir"/criu_*.dsc 2>/dev/null | head -n1)
  [ -n "$orig" ] && [ -n "$dsc" ] || { cat "$dir/fetch.log" >&2; fail "no criu orig tarball and .dsc in $dir"; }
  # Verify the tarball against the SHA-256 the signed .dsc lists for it.
  sum=$(awk -v f="$(basename "$orig")" '/^Checksums-Sha256:/{s=1;next} /^[^ ]/{s=0} s && $3==f {print $1}' "$dsc")
  [ -n "$sum" ] || fail "$dsc lists no SHA-256 for $(basename "$orig")"
  echo "$sum  $orig" | sha256sum -c --quiet - || fail "checksum mismatch for $orig"
  tar -xf "$orig" -C "$dir"
  local src
  src=$(find "$dir" -maxdepth 1 -mindepth 1 -type d -name 'criu*' | head -n1)
  [ -n "$src" ] || fail "unpacking $orig gave no source directory"
  say "building CRIU in $src (about half a minute)"
  make -C "$src" -j"$(nproc)" RUNDIR="$KDAT_DIR" criu >"$dir/build.log" 2>&1 || { tail -n 30 "$dir/build.log" >&2; fail "CRIU build failed, log: $dir/build.log"; }
  install -m 0755 "$src/criu/criu" "$CRIU_PREFIX/criu"
}

if CRIU=$(find_criu) && { [ "$CRIU" != "$CRIU_PREFIX/criu" ] || grep -qaF "$KDAT_DIR/criu.kdat" "$CRIU"; }; then
  say "criu: $CRIU $(criu_version "$CRIU")"
elif [ -n "${CRIU:-}" ]; then
  say "$CRIU was built to keep its kernel facts in /run, which is not always a tmpfs; rebuilding"
  build_criu
  CRIU=$(find_criu) || fail "built CRIU but $CRIU_PREFIX/criu is not >= $MIN_CRIU"
  say "criu: $CRIU $(criu_version "$CRIU")"
else
  if command -v criu >/dev/null; then
    say "installed criu $(criu_version "$(command -v criu)") is older than $MIN_CRIU; building from source"
  else
    say "criu not found; building $MIN_CRIU or later from Debian's source package"
  fi
  build_criu
  CRIU=$(find_criu) || fail "built CRIU but $CRIU_PREFIX/criu is still not >= $MIN_CRIU"
  say "criu: $CRIU $(criu_version "$CRIU")"
fi
# runc looks criu up in PATH; make sure the one it finds is ours.
if [ "$(command -v criu)" != "$CRIU" ] && [ -d /usr/local/bin ]; then
  ln -sf "$CRIU" /usr/local/bin/criu
fi

# --- kernel settings ------------------------------------------------------------------
cur=$(cat /proc/sys/fs/pipe-max-size)
if [ "$cur" -lt "$PIPE_MAX" ]; then
  say "fs.pipe-max-size $cur -> $PIPE_MAX (CRIU's lazy-page pipe needs more than 1 MiB)"
  echo "$PIPE_MAX" > /proc/sys/fs/pipe-max-size
fi
mkdir -p /var/run/netns
mkdir -p "$KDAT_DIR"
if [ "$(stat -f -c %T "$KDAT_DIR")" != tmpfs ]; then
  say "mounting a tmpfs on $KDAT_DIR (CRIU's kernel facts cache; $(dirname "$KDAT_DIR") is not a tmpfs)"
  mount -t tmpfs -o size=1m,mode=0700 criu-kdat "$KDAT_DIR"
fi

# --- what this kernel can do ----------------------------------------------------------
check_out=$("$CRIU" check 2>&1) || { echo "$check_out" >&2; fail "criu check failed"; }
say "criu check: $(echo "$check_out" | tail -n1)"
if "$CRIU" check --feature mem_dirty_track >/dev/null 2>&1; then
  say "dirty tracking: yes (pre-copy can use runc --pre-dump)"
else
  say "dirty tracking: no (pre-copy uses content deltas)"
fi
if "$CRIU" check --feature uffd-noncoop >/dev/null 2>&1; then
  say "userfaultfd: yes (post-copy / lazy pages available)"
else
  say "userfaultfd: no (post-copy unavailable)"
fi
say "ready"
