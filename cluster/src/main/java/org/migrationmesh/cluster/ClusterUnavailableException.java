package org.migrationmesh.cluster;

/**
 * No Raft leader could take a command or answer in time. Names the peer that tried and the last
 * leader it knew of, so the caller can retry there.
 */
public class ClusterUnavailableException extends ClusterException {
    private static final long serialVersionUID = 1L;

    private final String peer;
    private final String leaderHint;

    public ClusterUnavailableException(String peer, String leaderHint, String message, Throwable cause) {
        super(message, cause);
        this.peer = peer;
        this.leaderHint = leaderHint;
    }

    /** The agent that could not reach a leader. */
    public String peer() {
        return peer;
    }

    /** The last leader id known to {@link #peer()}, or empty. */
    public String leaderHint() {
        return leaderHint;
    }
}
