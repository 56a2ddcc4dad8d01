#!/usr/bin/env bash
# The main job: set the machine up if needed, build, and run the runtime demo (a tick server
# and a memory workload checkpointed on one simulated host and restored on another, every
# phase timed). Extra arguments go to the demo, e.g. --memory-mb 100.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh
echo "build: mvn package (tests are run by scripts/test.sh)"
mvn -B -q package -DskipTests
exec java -cp agent/target/migration-mesh-agent.jar org.migrationmesh.agent.demo.RuntimeDemo "$@"
