package org.migrationmesh.cluster;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * What one agent needs to run its Raft server.
 *
 * @param id                this agent's id (its Raft peer id)
 * @param raftAddress       {@code host:port} this agent's Raft server binds to and peers dial
 * @param clusterName       the cluster's name; the Raft group id is derived from it
 * @param peers             the Raft group to bootstrap with (this agent included), ignored once the
 *                          agent's storage holds a configuration of its own
 * @param dataDir           where the Raft log and state machine snapshots live
 * @param timing            election and request timeouts
 * @param snapshotThreshold take a snapshot every this many log entries
 */
public record NodeSettings(String id, String raftAddress, String clusterName, List<Peer> peers, Path dataDir,
                           RaftTiming timing, long snapshotThreshold) {
    public NodeSettings {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(raftAddress, "raftAddress");
        Objects.requireNonNull(clusterName, "clusterName");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(timing, "timing");
        peers = List.copyOf(peers);
        if (peers.stream().noneMatch(p -> p.id().equals(id))) {
            throw new IllegalArgumentException("agent " + id + " is not in its own peer list " + peers);
        }
        if (snapshotThreshold < 1) throw new IllegalArgumentException("snapshotThreshold must be >= 1: " + snapshotThreshold);
    }

    /** The Raft group id: a name-based UUID of the cluster name, the same on every agent. */
    public UUID groupUuid() {
        return UUID.nameUUIDFromBytes(("migration-mesh/" + clusterName).getBytes(StandardCharsets.UTF_8));
    }
}
