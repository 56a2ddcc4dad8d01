package org.migrationmesh.agent;

/** Entry point of the agent jar; replaced by the daemon as the cluster lands. */
public final class AgentMain {
    private AgentMain() {}

    public static void main(String[] args) {
        System.out.println("migration-mesh agent");
    }
}
