#!/usr/bin/env bash
# Runs every test: unit tests, and integration tests that run real runc, CRIU and agents in
# network namespaces (so it needs root; it sets the machine up first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh
exec mvn -B verify "$@"
