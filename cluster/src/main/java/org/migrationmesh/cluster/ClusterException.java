package org.migrationmesh.cluster;

/** Base of every failure the cluster reports: unchecked, and carrying what went wrong with which subject. */
public class ClusterException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ClusterException(String message) {
        super(message);
    }

    public ClusterException(String message, Throwable cause) {
        super(message, cause);
    }
}
