package org.migrationmesh.agent;

import org.migrationmesh.agent.daemon.AgentConfig;
import org.migrationmesh.agent.daemon.AgentDaemon;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Callable;

/** Entry point of the agent jar: {@code java -jar migration-mesh-agent.jar --config agent.json}. */
@Command(name = "migration-mesh-agent", mixinStandardHelpOptions = true,
        description = "Runs one migration-mesh agent: a Raft peer of the cluster and its control API.")
public final class AgentMain implements Callable<Integer> {
    /**
     * The JVM options an agent runs with ({@code bin/agent} passes the same, which
     * {@code AgentJvmOptionsTest} checks). C1 only: with both compilers a migration's first
     * passes through its code (the final image, the restore) had C2 compiling beside them, up
     * to ~130 ms of CPU within a ~240 ms downtime on the 2-core machine the tour runs on
     * (perf, per thread); C1 compiles the same paths for a fraction of that, and the agent's
     * hot loops are native or intrinsics (zstd; CRC32 and CRC32C, of which the page digests are
     * made). Measured on the tour, 12 pre-copy legs each way: client-seen
     * gap 163 against 194 ms on average. The serial collector: no concurrent GC threads
     * competing with a migration's. Child processes (runc, ip, arping) started by vfork and exec,
     * not through the jspawnhelper the JDK execs first by default: one exec less for each of the
     * ~6 an agent starts during a migration's downtime (A/B on the tour, 3 × 9 pre-copy legs each:
     * the agent-measured downtime 137 against 140 ms).
     */
    public static final List<String> JVM_OPTIONS = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
            "-Djdk.lang.Process.launchMechanism=VFORK");

    /**
     * Ratis' shaded gRPC logs through java.util.logging, which logback does not see: keep it quiet
     * too. Held here because JUL keeps loggers only weakly: a level set on a logger nobody holds
     * is lost when it is collected.
     */
    private static final java.util.logging.Logger[] QUIET = {
            java.util.logging.Logger.getLogger("org.apache.ratis.thirdparty"),
            java.util.logging.Logger.getLogger("io.grpc")};

    @Option(names = "--config", required = true, description = "Agent configuration file (JSON).")
    Path config;

    public static void main(String[] args) {
        for (java.util.logging.Logger l : QUIET) l.setLevel(java.util.logging.Level.WARNING);
        System.exit(new CommandLine(new AgentMain())
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    // A bad config or a taken port: one line saying what, the stack only for the unexpected.
                    cmd.getErr().println("migration-mesh-agent: " + e.getMessage());
                    if (!(e instanceof IllegalArgumentException) && !(e instanceof java.io.IOException)) {
                        e.printStackTrace(cmd.getErr());
                    }
                    return 1;
                })
                .execute(args));
    }

    @Override
    public Integer call() throws Exception {
        AgentDaemon daemon = AgentDaemon.start(AgentConfig.load(config), Clock.systemUTC());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                daemon.close();
            } catch (Exception e) {
                System.err.println("agent shutdown failed: " + e);
            }
        }, "agent-shutdown"));
        daemon.awaitTermination();
        return 0;
    }
}
