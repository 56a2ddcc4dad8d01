#!/usr/bin/env bash
# The main job: set the machine up if needed (runc, CRIU, the OpenArena server's rootfs), build,
# and run the world tour: the OpenArena server migrated Stuttgart -> Strasbourg -> Montreal ->
# Singapore -> Strasbourg between agents on a simulated world while a client probes it every
# 20 ms. Extra arguments go to the tour, e.g. --legs strasbourg:stop,montreal:pre or --help.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh
bash scripts/build-openarena-rootfs.sh
echo "build: mvn package (tests are run by scripts/test.sh)"
mvn -B -q package -DskipTests
exec java -cp agent/target/migration-mesh-agent.jar org.migrationmesh.agent.tour.WorldTour "$@"
