package org.migrationmesh.agent.runtime;

import org.migrationmesh.agent.sim.ProbeProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link PacketHold} for real (mmhold, iptables and NFQUEUE in a simulated host's namespace): a
 * client sends to an address whose server starts late, as a restored container's does. Held, every
 * request sent before the server's socket existed is answered once it does; without the hold, on
 * the same host, those requests are lost.
 */
class PacketHoldIT {
    private static final Pattern SUMMARY = Pattern.compile("summary sent (\\d+) received (\\d+) .*");
    private RuntimeFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new RuntimeFixture("mmph");
    }

    @AfterEach
    void tearDown() {
        if (fx != null) fx.close();
    }

    @Test
    void requestsSentBeforeTheSocketExistsAreAnsweredWhenItDoesAndLostWithoutTheHold() throws Exception {
        String ip = fx.net.newFloatingAddress();
        fx.net.addAddress(fx.b, ip);
        Path mmhold = Workloads.extract("mmhold", fx.dir.resolve("mmhold"));
        PacketHold.prepareChain(fx.runner, fx.b.netns());
        PacketHold.prepareChain(fx.runner, fx.b.netns()); // a second time (an agent's restart): still one jump

        PacketHold hold = PacketHold.start(fx.runner, mmhold, fx.b.netns(), ip, "late-server", "hold-test",
                fx.dir.resolve("holds"));
        int[] held = sentAndReceived(ip, "7001");
        String account = hold.release();
        assertThat(held[0]).as("requests sent").isGreaterThanOrEqualTo(50);
        assertThat(held[1]).as("held: every request answered, also those sent before the server's socket existed ("
                + account + ")").isEqualTo(held[0]);
        assertThat(account).matches("held=\\d+ released=\\d+ late=0 most_ms=.*");
        assertThat(Integer.parseInt(account.replaceAll("held=(\\d+) .*", "$1"))).as("packets held").isPositive();
        assertThat(hold.release()).as("released once").isEqualTo(account);
        String rules = fx.net.exec(fx.b, Duration.ofSeconds(10), "iptables", "-w", "-t", "raw", "-S").stdout();
        assertThat(rules).as("the hold's rule is gone, the chain and its jump stay")
                .doesNotContain("hold-test").contains("-N " + PacketHold.CHAIN);
        assertThat(rules.lines().filter(l -> l.equals("-A PREROUTING -j " + PacketHold.CHAIN)).count()).isEqualTo(1);

        int[] notHeld = sentAndReceived(ip, "7002");
        assertThat(notHeld[1]).as("without the hold, the requests sent before the server's socket existed are lost")
                .isLessThan(notHeld[0] - 5);
    }

    @Test
    void aHoldThatCannotBindItsQueueSaysWhyAndLeavesNoRule() throws Exception {
        String ip = fx.net.newFloatingAddress();
        PacketHold.prepareChain(fx.runner, fx.b.netns());
        Path notThere = fx.dir.resolve("no-such-mmhold");
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> PacketHold.start(fx.runner, notThere, fx.b.netns(),
                ip, "late-server", "hold-test", fx.dir.resolve("holds"))))
                .isInstanceOf(RuntimeFailure.class).hasMessageContaining("late-server").hasMessageContaining("packet hold");
        String rules = fx.net.exec(fx.b, Duration.ofSeconds(10), "iptables", "-w", "-t", "raw", "-S", PacketHold.CHAIN).stdout();
        assertThat(rules.strip()).isEqualTo("-N " + PacketHold.CHAIN);
    }

    @Test
    void aQueueStillBoundElsewhereIsPassedOverForTheNext() throws Exception {
        String ip = fx.net.newFloatingAddress();
        Path mmhold = Workloads.extract("mmhold", fx.dir.resolve("mmhold"));
        PacketHold.prepareChain(fx.runner, fx.b.netns());
        int taken = PacketHold.nextQueue();
        // as the mmhold of an agent that died a moment ago: it still listens on the queue this agent would take
        Process squatter = new ProcessBuilder("nsenter", "--net=" + fx.b.netnsPath(), mmhold.toString(), Integer.toString(taken))
                .redirectErrorStream(true).start();
        try {
            assertThat(new java.io.BufferedReader(new java.io.InputStreamReader(squatter.getInputStream())).readLine())
                    .isEqualTo("ready");
            PacketHold hold = PacketHold.start(fx.runner, mmhold, fx.b.netns(), ip, "late-server", "hold-test", fx.dir.resolve("holds"));
            String rules = fx.net.exec(fx.b, Duration.ofSeconds(10), "iptables", "-w", "-t", "raw", "-S", PacketHold.CHAIN).stdout();
            hold.release();
            assertThat(rules).contains("--queue-num " + (taken + 1)).doesNotContain("--queue-num " + taken + " ");
        } finally {
            squatter.destroyForcibly();
        }
    }

    /**
     * A client sends to {@code ip:port} every 20 ms for 2 s; a UDP server (memhog) binds it on
     * host b 0.5 s after the first request. Returns requests sent and answered.
     */
    private int[] sentAndReceived(String ip, String port) throws Exception {
        Path memhog = fx.dir.resolve("memhog");
        if (!java.nio.file.Files.exists(memhog)) Workloads.extract("memhog", memhog);
        ProbeProcess probe = fx.startProbe("udp", ip, port, "20", "2");
        Thread.sleep(500);
        Process server = fx.net.start(fx.b, memhog.toString(), "4", "0", ip, port);
        try {
            assertThat(probe.awaitEnd(Duration.ofSeconds(10))).as("the probe ended").isTrue();
        } finally {
            server.descendants().forEach(ProcessHandle::destroyForcibly);
            server.destroyForcibly();
        }
        String summary = probe.lines().stream().filter(l -> l.startsWith("summary")).findFirst().orElseThrow();
        Matcher m = SUMMARY.matcher(summary);
        assertThat(m.matches()).as(summary).isTrue();
        return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
    }
}
