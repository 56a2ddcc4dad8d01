package org.migrationmesh.agent.runtime;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Removes the network lock CRIU leaves in a network namespace after a successful dump (on the
 * source) or a failed restore (on the destination): an iptables chain {@code CRIU} that drops
 * everything not marked by CRIU, or an nftables table {@code inet CRIU-*}.
 */
public final class NetworkLock {
    private static final Duration TIMEOUT = Duration.ofSeconds(15);
    private final CommandRunner runner;

    public NetworkLock(CommandRunner runner) {
        this.runner = runner;
    }

    /**
     * Removes CRIU's lock from namespace {@code netns} (a name under /var/run/netns).
     * Idempotent; returns what was removed (empty if there was no lock).
     */
    public List<String> remove(String netns) {
        List<String> removed = new ArrayList<>();
        for (String tool : List.of("iptables", "ip6tables")) {
            CommandRunner.Execution rules = exec(netns, List.of(tool, "-w", "-S"));
            if (!rules.succeeded()) continue; // the tool or its table is not there: nothing to remove
            boolean hasChain = false;
            for (String line : rules.stdout().lines().toList()) {
                if (line.equals("-N CRIU")) hasChain = true;
                if (line.startsWith("-A ") && line.endsWith("-j CRIU")) {
                    String[] parts = line.substring(3).split(" ", 2);
                    List<String> del = new ArrayList<>(List.of(tool, "-w", "-D", parts[0]));
                    del.addAll(List.of(parts[1].split(" ")));
                    check(netns, exec(netns, del), del);
                    removed.add(tool + " rule " + line);
                }
            }
            if (hasChain) {
                check(netns, exec(netns, List.of(tool, "-w", "-F", "CRIU")), List.of(tool, "-F", "CRIU"));
                check(netns, exec(netns, List.of(tool, "-w", "-X", "CRIU")), List.of(tool, "-X", "CRIU"));
                removed.add(tool + " chain CRIU");
            }
        }
        CommandRunner.Execution tables = exec(netns, List.of("nft", "list", "tables"));
        if (tables.succeeded()) {
            for (String line : tables.stdout().lines().toList()) {
                String[] w = line.strip().split("\\s+");
                if (w.length == 3 && w[0].equals("table") && w[2].startsWith("CRIU")) {
                    List<String> del = List.of("nft", "delete", "table", w[1], w[2]);
                    check(netns, exec(netns, del), del);
                    removed.add("nft table " + w[1] + " " + w[2]);
                }
            }
        }
        return removed;
    }

    private CommandRunner.Execution exec(String netns, List<String> argv) {
        // A missing tool (e.g. no nft) means there is nothing of its kind to remove.
        return runner.runOrMissing(Command.of(TIMEOUT, Command.inNamespace(netns, argv)));
    }

    private static void check(String netns, CommandRunner.Execution ex, List<String> argv) {
        if (!ex.succeeded()) {
            throw new CommandFailure(null, Phase.NETWORK_LOCK, Command.inNamespace(netns, argv), ex.exitCode(), ex.stderr(),
                    null, null);
        }
    }
}
