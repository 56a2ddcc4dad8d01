/**
 * Floating IPs moved by the agents themselves (no keepalived).
 *
 * <p>The cluster decides which agent owns each floating address at which epoch; this package
 * makes the host follow. {@link org.migrationmesh.ipfloat.FloatingIps} claims (adds and
 * announces) and releases addresses on one interface, refusing stale epochs
 * ({@link org.migrationmesh.ipfloat.EpochFence}), claims without a lease, host addresses and
 * addresses that do not fit the interface. {@link org.migrationmesh.ipfloat.LeaseWatchdog}
 * releases everything when the {@link org.migrationmesh.ipfloat.Lease} (renewed by
 * {@link org.migrationmesh.ipfloat.MajorityContact}) expires, and
 * {@link org.migrationmesh.ipfloat.Reconciler} brings the interface back to what
 * {@link org.migrationmesh.ipfloat.OwnedAddresses} says, planned by the pure
 * {@link org.migrationmesh.ipfloat.ReconcilePlanner}. All effects go through
 * {@link org.migrationmesh.ipfloat.IpCommands} ({@link org.migrationmesh.ipfloat.IpRoute2}:
 * {@code ip}, {@code sysctl}, {@code arping}, optionally inside a named network namespace).
 *
 * <p>The cluster side implements {@code OwnedAddresses} and {@code MajorityContact}; it must
 * not hand an address to another agent before the previous owner's lease duration has passed
 * since that owner last had majority contact.
 */
package org.migrationmesh.ipfloat;
