package org.migrationmesh.agent.host;

import org.migrationmesh.agent.runtime.ContainerState;
import org.migrationmesh.proto.cluster.Container;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What this agent's runtime must do so that it runs exactly the containers the cluster says it
 * owns and wants running. Pure: the cluster's containers and runc's list in, actions out.
 *
 * <p>Containers in a migration are left alone (the migration drives them), and so is anything
 * runc runs that the cluster does not give to this agent: killing it could lose the only copy.
 */
public final class ContainerPlan {
    private ContainerPlan() {}

    /** One thing to do. */
    public sealed interface Action permits Start, Stop, Restart {
        String containerId();
    }

    /** Not running here but should be: write its bundle and run it. */
    public record Start(Container container) implements Action {
        public String containerId() {
            return container.getId();
        }
    }

    /** Running here but the cluster wants it stopped. */
    public record Stop(String containerId) implements Action {
    }

    /** Known to runc but not running (it exited or crashed): delete it and run it again. */
    public record Restart(Container container) implements Action {
        public String containerId() {
            return container.getId();
        }
    }

    /**
     * Whether a committed command can change which containers this host should run: heartbeats
     * (several a second from every agent) and a migration's intermediate phases cannot, and
     * reconciling on them would keep every host busy listing its containers. The periodic
     * reconcile catches anything else.
     */
    public static boolean affectsContainers(org.migrationmesh.proto.cluster.Command command) {
        return switch (command.getKindCase()) {
            case HEARTBEAT, KIND_NOT_SET -> false;
            case ADVANCE_MIGRATION -> command.getAdvanceMigration().getPhase()
                    == org.migrationmesh.proto.cluster.MigrationPhase.COMMIT;
            default -> true;
        };
    }

    /**
     * @param self      this agent's id
     * @param cluster   every container in the cluster's state
     * @param local     runc's view on this host, by container id
     */
    public static List<Action> plan(String self, Collection<Container> cluster, Map<String, ContainerState> local) {
        List<Action> actions = new ArrayList<>();
        for (Container c : cluster) {
            if (!c.getOwner().equals(self) || !c.getMigrationId().isEmpty()) continue;
            if (!c.hasSpec() || !ContainerSpecs.runnable(c.getSpec())) continue; // only recorded, nothing to run
            ContainerState here = local.get(c.getId());
            switch (c.getState()) {
                case RUNNING -> {
                    if (here == null) actions.add(new Start(c));
                    else if (!here.running() && !PAUSED_OR_STARTING.contains(here.status())) actions.add(new Restart(c));
                }
                case STOPPED -> {
                    if (here != null) actions.add(new Stop(c.getId()));
                }
                default -> { }
            }
        }
        return actions;
    }

    private static final Set<String> PAUSED_OR_STARTING = Set.of("paused", "pausing", "creating", "created");
}
