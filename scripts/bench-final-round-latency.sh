#!/bin/sh
# Builds the transfer module and times the final round of a pre-copied image over a long link: loopback
# gRPC through a user-space delay proxy, in ms and in round trips, the one-upload way against the long
# way (pagemaps uploaded, PlanPages, pages) in the same run (no root or CRIU needed; see
# transfer/.../FinalRoundLatencyBenchmark).
# Before/after in one JVM: java -cp "$CP" org.migrationmesh.transfer.FinalRoundLatencyAb BEFORE_CLASSES_DIR transfer/target/classes [ALTERNATIONS] [LINK] ...
# Usage: scripts/bench-final-round-latency.sh [ONE_WAY_DELAYS_MS=45,80; "direct": no proxy] [MB=20] [CHANGED_PAGES=20] [RUNS=5] [shifted]
set -eu
cd "$(dirname "$0")/.."
mvn -B -q -pl transfer -am test-compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=test
CP="transfer/target/test-classes:transfer/target/classes:proto/target/classes:$(cat transfer/target/classpath.txt)"
exec java -Xmx4g -cp "$CP" org.migrationmesh.transfer.FinalRoundLatencyBenchmark "${1:-45,80}" "${2:-20}" "${3:-20}" "${4:-5}" ${5:+"$5"}
