#!/usr/bin/env bash
# Runs every test: unit tests, and integration tests that run real runc, CRIU and agents in
# network namespaces (so it needs root; it sets the machine up first, and builds the rootfs of
# the real workload, the OpenArena server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh
# The OpenArena server's rootfs for OpenArenaIT (~45 s the first time, then ~0.1 s).
bash scripts/build-openarena-rootfs.sh
exec mvn -B verify "$@"
