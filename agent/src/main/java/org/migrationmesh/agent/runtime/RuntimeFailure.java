package org.migrationmesh.agent.runtime;

/**
 * A runtime operation on a container failed. Names the container (may be null for
 * host-wide operations) and the phase, so that a person knows what to look at.
 */
public class RuntimeFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String containerId;
    private final Phase phase;

    public RuntimeFailure(String containerId, Phase phase, String message) {
        this(containerId, phase, message, null);
    }

    public RuntimeFailure(String containerId, Phase phase, String message, Throwable cause) {
        super(prefix(containerId, phase) + message, cause);
        this.containerId = containerId;
        this.phase = phase;
    }

    private static String prefix(String containerId, Phase phase) {
        return containerId == null ? phase + ": " : phase + " of container '" + containerId + "': ";
    }

    public String containerId() {
        return containerId;
    }

    public Phase phase() {
        return phase;
    }
}
