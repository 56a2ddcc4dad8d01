#!/usr/bin/env bash
# Measures floating-IP moves between two network namespaces it creates (and removes):
# time from the claim to the first reply from the new owner, datagrams lost per move, and a
# baseline without gratuitous ARP. Runs as root (network namespaces).
# Usage: scripts/bench-ipfloat.sh [MOVES=20] [BASELINE_MOVES=3]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench-ipfloat: must run as root (network namespaces)" >&2; exit 1; }
CP_FILE=ipfloat/target/bench-classpath.txt
mvn -B -q -pl ipfloat -am test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test >/dev/null
exec java -cp "ipfloat/target/test-classes:ipfloat/target/classes:$(cat "$CP_FILE")" \
  org.migrationmesh.ipfloat.FloatingIpMoveBenchmark "$@"
