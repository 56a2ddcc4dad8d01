package org.migrationmesh.agent.cli;

import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** Options every agentctl command understands, before or after the subcommand name. */
public final class GlobalOptions {
    /** How results are printed. */
    public enum Format { table, json }

    @Option(names = "--peer", scope = ScopeType.INHERIT, defaultValue = "${env:AGENTCTL_PEER:-127.0.0.1:7100}",
            description = "Control address of any agent (HOST:PORT). Default: ${DEFAULT-VALUE}")
    String peer;

    @Option(names = {"-o", "--output"}, scope = ScopeType.INHERIT, defaultValue = "table",
            description = "Output format: ${COMPLETION-CANDIDATES}. Default: ${DEFAULT-VALUE}")
    Format output;

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT, description = "Print stack traces of errors.")
    boolean verbose;

    @Option(names = "--timeout", scope = ScopeType.INHERIT, defaultValue = "30",
            description = "Seconds to wait for an answer. Default: ${DEFAULT-VALUE}")
    long timeoutSeconds;
}
