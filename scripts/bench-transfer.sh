#!/bin/sh
# Builds the transfer module and runs its benchmark (needs root, CRIU, rsync; see transfer/.../TransferBenchmark).
# Usage: scripts/bench-transfer.sh [THROUGHPUT_MB=1024] [DELTA_MB=400, 0 skips the delta part] [SECONDS_BETWEEN_DUMPS=6]
set -eu
cd "$(dirname "$0")/.."
mvn -B -q -pl transfer -am test-compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=test
CP="transfer/target/test-classes:transfer/target/classes:proto/target/classes:$(cat transfer/target/classpath.txt)"
exec java -Xmx4g -cp "$CP" org.migrationmesh.transfer.TransferBenchmark "$@"
