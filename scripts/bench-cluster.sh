#!/usr/bin/env bash
# Cluster benchmark: three agent JVMs on loopback; prints the commit latency (p50/p99) of an
# ownership change against a plain gRPC round trip, and the leader failover time after kill -9.
# Usage: scripts/bench-cluster.sh [ops=300] [failovers=3]
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -pl agent -am test-compile dependency:build-classpath \
    -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test >&2
CP="agent/target/test-classes:agent/target/classes:$(cat agent/target/bench.classpath)"
exec java -Xmx256m -cp "$CP" org.migrationmesh.agent.daemon.ClusterBenchmark "$@"
