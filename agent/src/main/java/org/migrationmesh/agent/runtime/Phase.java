package org.migrationmesh.agent.runtime;

/** The runtime operation an error happened in; carried by every runtime exception. */
public enum Phase {
    CHECK("capability check"),
    RUN("run"),
    STATE("state"),
    LIST("list"),
    KILL("kill"),
    DELETE("delete"),
    PRE_DUMP("pre-dump"),
    CHECKPOINT("checkpoint"),
    LAZY_CHECKPOINT("lazy checkpoint"),
    LAZY_PAGES("lazy-pages daemon"),
    RESTORE("restore"),
    NETWORK_LOCK("network lock removal"),
    PACKET_HOLD("packet hold"),
    BUNDLE("bundle");

    private final String label;

    Phase(String label) {
        this.label = label;
    }

    @Override
    public String toString() {
        return label;
    }
}
