package org.migrationmesh.agent.tour;

import org.migrationmesh.agent.runtime.BundleSpec;
import org.migrationmesh.agent.runtime.Workloads;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The server the tour carries around: how agentctl runs it on its floating IP, how the prober
 * (mmprobe, in the client's namespace) asks it, and how a reply shows it went on.
 */
public enum GameServer {
    /** The built-in tick server: its UDP port answers "seq N tick K start S". */
    TICKSERVER(7001) {
        private final Pattern reply = Pattern.compile("^(\\d+) seq (\\d+) tick (\\d+) start (\\d+)$");

        @Override
        List<String> command(String ip) {
            return List.of("/bin/tickserver", ip, "7000", Integer.toString(port));
        }

        @Override
        List<String> runArgs(String ip) {
            List<String> a = new ArrayList<>(List.of("--workload", "tickserver", "--ip", ip, "--"));
            a.addAll(command(ip));
            return a;
        }

        @Override
        Path bundle(Path dir, BundleSpec spec) throws IOException {
            return Workloads.bundle(dir, "tickserver", spec);
        }

        @Override
        List<String> probeArgs(String ip, int intervalMs, int seconds) {
            return List.of("udp", ip, Integer.toString(port), Integer.toString(intervalMs), Integer.toString(seconds));
        }

        @Override
        List<ClientView.Reply> replies(List<String> lines) {
            List<ClientView.Reply> out = new ArrayList<>();
            for (String l : lines) {
                Matcher m = reply.matcher(l);
                if (m.matches()) {
                    out.add(new ClientView.Reply(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
                            Long.parseLong(m.group(3)), m.group(4)));
                }
            }
            return out;
        }

        @Override
        String counterName() {
            return "tick";
        }
    };

    final int port;

    GameServer(int port) {
        this.port = port;
    }

    /** The server's command line inside its container, bound to {@code ip}. */
    abstract List<String> command(String ip);

    /** Writes a bundle for the server with {@code spec} (its command among it) into {@code dir}. */
    abstract Path bundle(Path dir, BundleSpec spec) throws IOException;

    /** agentctl run's arguments after the container id. */
    abstract List<String> runArgs(String ip);

    /** mmprobe's arguments. */
    abstract List<String> probeArgs(String ip, int intervalMs, int seconds);

    /** The replies among the prober's lines, in order. */
    abstract List<ClientView.Reply> replies(List<String> lines);

    /** What the server's counter counts, for the report. */
    abstract String counterName();
}
