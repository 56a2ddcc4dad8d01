package org.migrationmesh.agent.daemon;

import java.util.Optional;

/** Where to reach an agent's control API, by agent id (from the member table or the config file). */
@FunctionalInterface
interface ControlDirectory {
    Optional<String> controlAddressOf(String agentId);
}
