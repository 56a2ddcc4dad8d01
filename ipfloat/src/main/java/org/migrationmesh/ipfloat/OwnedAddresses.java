package org.migrationmesh.ipfloat;

/**
 * The cluster's current answer to "which floating IPs does this agent own, at which epoch".
 * Implemented by the cluster module over the replicated state; read on every reconciliation.
 */
@FunctionalInterface
public interface OwnedAddresses {
    Ownership current();
}
