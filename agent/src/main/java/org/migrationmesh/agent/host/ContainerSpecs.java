package org.migrationmesh.agent.host;

import org.migrationmesh.agent.runtime.Workloads;
import org.migrationmesh.proto.cluster.ContainerSpec;

import java.nio.file.Path;

/** Checks on what a container runs: exactly one of a workload the agents carry or a prepared rootfs. Pure. */
public final class ContainerSpecs {
    private ContainerSpecs() {}

    /** Whether {@code spec} says what to run; a container without a runnable spec is only recorded. */
    public static boolean runnable(ContainerSpec spec) {
        return !spec.getWorkload().isEmpty() || !spec.getRootfs().isEmpty();
    }

    /**
     * Refuses a spec that names both a workload and a rootfs, or neither, an unknown workload, a
     * relative rootfs, or a rootfs without a command.
     *
     * @throws IllegalArgumentException naming the offending value
     */
    public static void validate(ContainerSpec spec) {
        boolean workload = !spec.getWorkload().isEmpty();
        boolean rootfs = !spec.getRootfs().isEmpty();
        if (workload && rootfs) {
            throw new IllegalArgumentException("give a workload (" + spec.getWorkload() + ") or a rootfs ("
                    + spec.getRootfs() + "), not both");
        }
        if (!workload && !rootfs) throw new IllegalArgumentException("a container spec needs a workload or a rootfs");
        if (workload && !Workloads.NAMES.contains(spec.getWorkload())) {
            throw new IllegalArgumentException("unknown workload '" + spec.getWorkload() + "', known: " + Workloads.NAMES);
        }
        if (rootfs && !Path.of(spec.getRootfs()).isAbsolute()) {
            throw new IllegalArgumentException("rootfs must be an absolute path: " + spec.getRootfs());
        }
        if (rootfs && spec.getArgsCount() == 0) {
            throw new IllegalArgumentException("a container with rootfs " + spec.getRootfs() + " needs a command");
        }
    }
}
