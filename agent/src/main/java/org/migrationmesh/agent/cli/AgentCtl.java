package org.migrationmesh.agent.cli;

import io.grpc.ManagedChannel;
import org.migrationmesh.proto.control.ControlGrpc;
import org.migrationmesh.rpc.RpcEndpoints;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code agentctl}: talks to any agent's control API. Results go to stdout (a table, or JSON with
 * {@code -o json}); diagnostics and one-line errors go to stderr; the exit code says what kind of
 * failure it was (see {@link ExitCodes}).
 */
@Command(name = "agentctl", mixinStandardHelpOptions = true, version = "agentctl 0.1",
        description = "Controls a migration-mesh cluster through any of its agents.",
        subcommands = {StatusCommand.class, MembersCommand.class, PsCommand.class, RunCommand.class,
                StopCommand.class, MigrateCommand.class, WatchCommand.class, AbortCommand.class,
                CommandLine.HelpCommand.class})
public final class AgentCtl {
    /**
     * The JVM options agentctl runs with ({@code bin/agentctl} passes the same). A migration
     * starts the moment agentctl's request arrives, while agentctl's JVM is still busy with its
     * own start: compiling what it just ran, on every core it can get. Where agentctl shares a
     * host's cores with agents (the world tour puts five hosts on two), that work fell into the
     * freeze of a stop-and-copy migration: measured there, CRIU's frozen time 76-157 ms against
     * 60-70 ms with agentctl idle, and the client's gap 255-422 ms against 241-319 ms with these
     * options. C1 only and one compiler thread compile little and soon; the serial collector has no
     * threads of its own. Interpreting only ({@code -Xint}) costs more while agentctl watches.
     */
    public static final List<String> JVM_OPTIONS = List.of("-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1",
            "-XX:+UseSerialGC", "-Xmx256m");

    @Mixin
    GlobalOptions options;

    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        System.exit(execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs agentctl with the given streams; returns the exit code. */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        AgentCtl root = new AgentCtl();
        CommandLine cl = new CommandLine(root);
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler(new ExitCodes(root.options));
        return cl.execute(args);
    }

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** A connection to the agent named by {@code --peer}; close it after the call. */
    Connection connect() {
        return new Connection(RpcEndpoints.channel(options.peer), options.timeoutSeconds);
    }

    /** One channel to one agent, built by {@link RpcEndpoints}. */
    static final class Connection implements AutoCloseable {
        private final ManagedChannel channel;
        private final long timeoutSeconds;

        Connection(ManagedChannel channel, long timeoutSeconds) {
            this.channel = channel;
            this.timeoutSeconds = timeoutSeconds;
        }

        /** A stub whose calls fail after {@code --timeout} seconds. */
        ControlGrpc.ControlBlockingStub unary() {
            return ControlGrpc.newBlockingStub(channel).withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS);
        }

        /** A stub without deadline, for streams that last as long as what they watch. */
        ControlGrpc.ControlBlockingStub streaming() {
            return ControlGrpc.newBlockingStub(channel);
        }

        @Override
        public void close() {
            channel.shutdownNow();
        }
    }
}
