#!/usr/bin/env bash
# The seed's migration method, as its author ran it by hand, for the benchmark's baseline:
# `runc checkpoint` to files, `rsync -z` of the image to the destination, the floating IP moved
# the way keepalived moves it (address off the old host, onto the new one, gratuitous ARPs),
# `runc restore`. With MODE=pre, a first dump that leaves the container running is rsynced
# first and the final dump is rsynced over it (rsync's delta against the first round: this
# kernel has no dirty tracking, so `--pre-dump` is not available; see PLATFORM.md).
#
# Usage: seed-migrate.sh MODE CONTAINER FLOATING_IP SRC_NETNS SRC_DIR DST_NETNS DST_DIR DST_ADDR
#   MODE      stop | pre
#   *_NETNS   network namespaces (names under /var/run/netns) of the two hosts
#   *_DIR     each host's directory: runc/ (runc root), bundle/ (its bundle), images/ (dumps),
#             and on the destination incoming/ served by an rsync daemon as module "incoming"
#   DST_ADDR  the destination host's address (its rsync daemon listens there, port 873)
# Prints one "phase NAME MS" line per phase, "rsync_bytes N" per rsync (bytes sent plus
# received, from rsync's --stats), and "downtime_ms N" (freeze to restored).
#
# One adaptation: containers here share their host's network namespace, so CRIU's network lock
# (an iptables chain it leaves on the source after the final dump) would cut the host off; it is
# removed right after the dump, as the agents do. It costs a few ms.
set -euo pipefail
[ $# -eq 8 ] || { sed -n '2,20p' "$0" >&2; exit 2; }
mode=$1 id=$2 fip=$3 src_ns=$4 src=$5 dst_ns=$6 dst=$7 dst_addr=$8
case "$mode" in stop|pre) ;; *) echo "MODE must be stop or pre, not '$mode'" >&2; exit 2 ;; esac

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
on() { local ns=$1; shift; nsenter --net="/var/run/netns/$ns" "$@"; }
phase() { echo "phase $1 $(( $(now_ms) - $2 ))"; }
runc_on() { # runc's (and so the container's) stdio must not be our pipes: a detached container keeps them
    local ns=$1 dir=$2; shift 2
    if ! on "$ns" runc --root "$dir/runc" "$@" </dev/null >/dev/null 2>"$dir/runc.err"; then
        echo "runc $* failed:" >&2; cat "$dir/runc.err" >&2; return 1
    fi
}
sync_images() { # $1: image dir on the source; the destination keeps one directory per container
    local out
    # -I: never skip a file for having the size and mtime of the copy there (a final dump written
    # within a second of the pre-dump would be left stale); rsync's delta still sends only changes.
    out=$(on "$src_ns" rsync -azI --delete --stats "$1/" "rsync://$dst_addr/incoming/$id/")
    local sent received
    sent=$(sed -n 's/^Total bytes sent: \([0-9,.]*\).*/\1/p' <<<"$out" | tr -d ',.')
    received=$(sed -n 's/^Total bytes received: \([0-9,.]*\).*/\1/p' <<<"$out" | tr -d ',.')
    echo "rsync_bytes $(( sent + received ))"
}
unlock_source_network() {
    for t in iptables ip6tables; do
        command -v "$t" >/dev/null || continue
        while on "$src_ns" "$t" -w -S 2>/dev/null | grep -q -- '-j CRIU$'; do
            rule=$(on "$src_ns" "$t" -w -S | grep -- '-j CRIU$' | head -1 | sed 's/^-A /-D /')
            # shellcheck disable=SC2086
            on "$src_ns" "$t" -w $rule
        done
        if on "$src_ns" "$t" -w -S 2>/dev/null | grep -q '^-N CRIU$'; then
            on "$src_ns" "$t" -w -F CRIU && on "$src_ns" "$t" -w -X CRIU
        fi
    done
    command -v nft >/dev/null || return 0
    on "$src_ns" nft list tables 2>/dev/null | awk '$1=="table" && $3 ~ /^CRIU/ {print $2, $3}' |
        while read -r family name; do on "$src_ns" nft delete table "$family" "$name"; done
}

rm -rf "$src/images" "$src/work" "$dst/work"
mkdir -p "$src/images" "$src/work" "$dst/work" "$dst/incoming/$id"

if [ "$mode" = pre ]; then
    t=$(now_ms)
    runc_on "$src_ns" "$src" checkpoint --leave-running --tcp-established --image-path "$src/images/pre" \
        --work-path "$src/work/pre" "$id"
    phase pre-dump "$t"
    t=$(now_ms)
    sync_images "$src/images/pre"
    phase pre-dump-rsync "$t"
fi

freeze=$(now_ms)
runc_on "$src_ns" "$src" checkpoint --tcp-established --image-path "$src/images/final" --work-path "$src/work/final" "$id"
phase checkpoint "$freeze"
unlock_source_network
t=$(now_ms)
sync_images "$src/images/final"
phase rsync "$t"

t=$(now_ms)
on "$src_ns" ip addr del "$fip/24" dev eth0 2>/dev/null || true
on "$dst_ns" ip addr add "$fip/24" dev eth0
# keepalived's new master announces itself at once: 5 gratuitous ARPs (vrrp_garp_master_repeat).
on "$dst_ns" arping -q -U -c 5 -w 1 -I eth0 "$fip" &
phase ip-move "$t"

t=$(now_ms)
runc_on "$dst_ns" "$dst" restore --detach --tcp-established --image-path "$dst/incoming/$id" \
    --work-path "$dst/work" --bundle "$dst/bundle" "$id"
phase restore "$t"
echo "downtime_ms $(( $(now_ms) - freeze ))"
runc_on "$src_ns" "$src" delete --force "$id" >/dev/null 2>&1 || true
wait
