package org.migrationmesh.agent.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Holds the packets a host receives for a container's address while the container is being
 * restored there, each until a socket that takes it exists ({@code agent/src/main/c/mmhold.c}):
 * a request a client sends in the switchover is answered as the container resumes instead of
 * being lost. The packets reach mmhold through an iptables rule in the host's namespace (table
 * raw, in chain {@value #CHAIN}, {@code -j NFQUEUE --queue-bypass}: with nobody on the queue they
 * pass as before); {@link #close} removes the rule and lets mmhold go, which accepts what it
 * still holds.
 */
public final class PacketHold implements AutoCloseable {
    /** The raw table's chain that the rules of every hold of this host go in, jumped to from PREROUTING. */
    public static final String CHAIN = "MM-HOLD";
    /** How long mmhold holds a packet at most (no socket took it by then: it goes on, to what it meets). */
    static final Duration MOST = Duration.ofSeconds(3);
    private static final Duration TIMEOUT = Duration.ofSeconds(15);
    private static final Duration READY = Duration.ofSeconds(5);
    /** Queue numbers, one per hold of this agent (a namespace's queues are its own). */
    private static final AtomicInteger QUEUES = new AtomicInteger();
    private static final int FIRST_QUEUE = 0x4d48, QUEUE_COUNT = 1024;

    /** The queue number the next hold of this agent tries first. */
    static int nextQueue() {
        return queue(QUEUES.get());
    }

    /** The {@code n}th hold's queue number. */
    private static int queue(int n) {
        return FIRST_QUEUE + Math.floorMod(n, QUEUE_COUNT);
    }

    private final CommandRunner runner;
    private final String netns;
    private final List<String> rule;
    private final Process mmhold;
    private final Path stdout, stderr;
    private String account; // once released

    private PacketHold(CommandRunner runner, String netns, List<String> rule, Process mmhold, Path stdout, Path stderr) {
        this.runner = runner;
        this.netns = netns;
        this.rule = rule;
        this.mmhold = mmhold;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    /**
     * Creates chain {@value #CHAIN} in namespace {@code netns} (a name under /var/run/netns), or
     * empties the one there (rules an earlier run of this agent left: harmless, they pass packets
     * when nobody listens, but they would send a later hold's queue packets of another address),
     * and makes PREROUTING jump to it.
     */
    public static void prepareChain(CommandRunner runner, String netns) {
        if (iptables(runner, netns, "-t", "raw", "-N", CHAIN).succeeded()) {
            check(runner, netns, "-t", "raw", "-I", "PREROUTING", "-j", CHAIN);
            return;
        }
        check(runner, netns, "-t", "raw", "-F", CHAIN);
        if (!iptables(runner, netns, "-t", "raw", "-C", "PREROUTING", "-j", CHAIN).succeeded()) {
            check(runner, netns, "-t", "raw", "-I", "PREROUTING", "-j", CHAIN);
        }
    }

    /**
     * Starts holding the packets to container {@code containerId}'s {@code address} (IPv4, without
     * prefix) in namespace {@code netns}, whose chain {@link #prepareChain} made: starts
     * {@code mmhold} there, with its output in {@code dir} (files named for {@code tag}, removed
     * by {@link #release}), and once it listens, puts the rule (marked with {@code tag}: the
     * migration) in. Throws {@link RuntimeFailure} if either fails, leaving nothing behind.
     */
    public static PacketHold start(CommandRunner runner, Path mmhold, String netns, String address, String containerId,
                                   String tag, Path dir) {
        Path stdout = dir.resolve(tag + ".stdout"), stderr = dir.resolve(tag + ".stderr");
        for (int attempt = 1; ; attempt++) {
            int queue = queue(QUEUES.getAndIncrement());
            Process p;
            try {
                p = listen(runner, mmhold, netns, queue, containerId, stdout, stderr);
            } catch (RuntimeFailure e) {
                // A queue bound by another listener (the mmhold of an agent that died less than a second ago)
                // is refused with EPERM: the next one. (So is a bind without CAP_NET_ADMIN: three tries, then that.)
                if (attempt == 3 || !e.getMessage().contains("Operation not permitted")) throw e;
                continue;
            }
            return withRule(runner, netns, address, tag, queue, p, stdout, stderr);
        }
    }

    /** Starts mmhold on {@code queue} and waits until it listens. */
    private static Process listen(CommandRunner runner, Path mmhold, String netns, int queue, String containerId,
                                  Path stdout, Path stderr) {
        List<String> argv = List.of("nsenter", "--net=" + Path.of("/var/run/netns", netns), mmhold.toString(),
                Integer.toString(queue), Long.toString(MOST.toMillis()));
        Process p;
        try {
            Files.createDirectories(stdout.getParent());
            Files.deleteIfExists(stdout);
            p = runner.start(new Command(argv, Duration.ofDays(1), false), stdout, stderr);
        } catch (IOException e) {
            throw new RuntimeFailure(containerId, Phase.PACKET_HOLD, "could not start " + argv + ": " + e.getMessage());
        }
        long deadline = System.nanoTime() + READY.toNanos();
        while (!said(stdout, "ready")) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                String said = read(stderr).strip();
                remove(stdout, stderr);
                throw new RuntimeFailure(containerId, Phase.PACKET_HOLD, "mmhold did not bind queue " + queue + " in namespace "
                        + netns + (said.isEmpty() ? " within " + READY : ": " + said));
            }
            LockSupport.parkNanos(500_000);
        }
        return p;
    }

    /** Puts the rule that sends {@code address}'s packets to listening mmhold {@code p} in. */
    private static PacketHold withRule(CommandRunner runner, String netns, String address, String tag, int queue, Process p,
                                       Path stdout, Path stderr) {
        List<String> rule = List.of("-t", "raw", "-A", CHAIN, "-d", address + "/32", "-m", "comment", "--comment", "mm:" + tag,
                "-j", "NFQUEUE", "--queue-num", Integer.toString(queue), "--queue-bypass");
        try {
            check(runner, netns, rule.toArray(String[]::new));
        } catch (CommandFailure e) {
            end(p);
            remove(stdout, stderr);
            throw e;
        }
        return new PacketHold(runner, netns, rule, p, stdout, stderr);
    }

    /**
     * Removes the rule and ends mmhold, which lets go of what it holds; returns its account
     * ({@code held=N released=N late=N most_ms=N}, and what went wrong if anything). Idempotent.
     */
    public synchronized String release() {
        if (account != null) return account;
        List<String> delete = new ArrayList<>(rule);
        delete.set(delete.indexOf("-A"), "-D");
        CommandRunner.Execution removed = iptables(runner, netns, delete.toArray(String[]::new));
        end(mmhold);
        String said = read(stdout).lines().filter(l -> l.startsWith("held=")).findFirst()
                .orElse("mmhold said nothing (" + read(stderr).strip() + ")");
        remove(stdout, stderr);
        account = removed.succeeded() ? said : said + "; its rule stayed (" + removed.stderr().strip() + ")";
        return account;
    }

    @Override
    public void close() {
        release();
    }

    private static void end(Process p) {
        p.destroy(); // SIGTERM: mmhold accepts what it holds, then exits
        try {
            if (!p.waitFor(2, TimeUnit.SECONDS)) p.destroyForcibly();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static void remove(Path... files) {
        for (Path f : files) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException e) {
                // a few bytes in the agent's own directory
            }
        }
    }

    private static boolean said(Path file, String line) {
        return read(file).lines().anyMatch(line::equals);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }

    private static void check(CommandRunner runner, String netns, String... args) {
        CommandRunner.Execution ex = iptables(runner, netns, args);
        if (!ex.succeeded()) {
            throw new CommandFailure(null, Phase.PACKET_HOLD, argv(netns, args), ex.exitCode(), ex.stderr(), null, null);
        }
    }

    private static CommandRunner.Execution iptables(CommandRunner runner, String netns, String... args) {
        return runner.runOrMissing(Command.of(TIMEOUT, argv(netns, args)));
    }

    private static List<String> argv(String netns, String... args) {
        List<String> iptables = new ArrayList<>(List.of("iptables", "-w"));
        iptables.addAll(List.of(args));
        return Command.inNamespace(netns, iptables);
    }
}
