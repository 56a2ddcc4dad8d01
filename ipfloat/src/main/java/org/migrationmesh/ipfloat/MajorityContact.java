package org.migrationmesh.ipfloat;

/**
 * Tells when this agent has just confirmed contact with a majority of the cluster (a heartbeat
 * answered by a quorum, a committed entry, a leader's append). Implemented by the cluster.
 */
public interface MajorityContact {

    /**
     * Calls {@code onConfirmed} on every confirmation, from any thread, until the returned
     * handle is closed.
     */
    AutoCloseable subscribe(Runnable onConfirmed);
}
