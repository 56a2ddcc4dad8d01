#!/bin/sh
# Builds the transfer module and times the final round of a pre-copied image against sending it whole
# (synthetic image, loopback gRPC; no root or CRIU needed; see transfer/.../FinalRoundBenchmark).
# Usage: scripts/bench-final-round.sh [MB=400] [CHANGED_PER_MILLE=3] [DIR=/var/tmp] [RUNS=5] [ascending|shuffled]
set -eu
cd "$(dirname "$0")/.."
mvn -B -q -pl transfer -am test-compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=test
CP="transfer/target/test-classes:transfer/target/classes:proto/target/classes:$(cat transfer/target/classpath.txt)"
exec java -Xmx4g -cp "$CP" org.migrationmesh.transfer.FinalRoundBenchmark "${1:-400}" "${2:-3}" "${3:-/var/tmp}" "${4:-5}" "${5:-ascending}"
