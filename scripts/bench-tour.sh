#!/usr/bin/env bash
# The benchmark against the seed's own method (runc checkpoint + rsync -z + keepalived-style IP
# move + runc restore, scripts/seed-migrate.sh) on the tour's simulated world: both methods take
# turns on every leg. Writes docs/benchmark/tour-WORLD.{csv,md,svg}.
# Usage: scripts/bench-tour.sh [--world shaped|loopback] [--repetitions N] [--legs ...]
#        [--server openarena|tickserver|memhog [--memhog-mb 400 --dirty-rate 1000]]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh
bash scripts/build-openarena-rootfs.sh
mvn -B -q package -DskipTests
exec java -cp agent/target/migration-mesh-agent.jar org.migrationmesh.agent.tour.TourBenchmark "$@"
