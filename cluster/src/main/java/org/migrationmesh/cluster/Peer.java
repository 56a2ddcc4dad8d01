package org.migrationmesh.cluster;

import java.util.Objects;

/**
 * A Raft peer: the agent id and the {@code host:port} its Raft transport listens on.
 *
 * @param id          agent id, also its Raft peer id
 * @param raftAddress {@code host:port} of the agent's Raft server
 */
public record Peer(String id, String raftAddress) {
    public Peer {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(raftAddress, "raftAddress");
        if (id.isBlank()) throw new IllegalArgumentException("blank peer id");
        if (!raftAddress.contains(":")) throw new IllegalArgumentException("peer " + id + ": raft address '"
                + raftAddress + "' is not HOST:PORT");
    }
}
