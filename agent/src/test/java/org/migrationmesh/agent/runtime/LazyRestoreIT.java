package org.migrationmesh.agent.runtime;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.migrationmesh.agent.sim.ProbeProcess;
import org.migrationmesh.proto.lazypages.LazyPageRelayGrpc;
import org.migrationmesh.rpc.RpcEndpoints;
import org.migrationmesh.transfer.lazy.LazyPageRelayService;
import org.migrationmesh.transfer.lazy.LazyPageTunnel;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Post-copy for real: a lazy checkpoint on host a, pages pulled by criu lazy-pages on host b. */
class LazyRestoreIT {
    private static final Pattern REPLY = Pattern.compile("rounds (\\d+) dirtied \\d+ start (\\d+)");
    private RuntimeFixture fx;
    private final Criu criu = new Criu(Criu.DEFAULT_BINARY, new ProcessCommandRunner());

    @BeforeEach
    void setUp() throws Exception {
        fx = new RuntimeFixture("lz");
    }

    @AfterEach
    void tearDown() {
        if (fx != null) fx.close();
    }

    @Test
    void lazyRestoreTransfersEveryPageAndTheProcessContinues() throws Exception {
        String ip = fx.net.newFloatingAddress();
        fx.net.addAddress(fx.a, ip);
        String id = "mem-" + fx.net.prefix();
        List<String> args = List.of("/bin/memhog", "64", "200", ip, "7001");
        fx.runcA.run(id, fx.bundle(fx.a, id, "memhog", args));
        long[] before = query(ip);

        int port = LazyCheckpoint.freePageServerPort();
        Path images = fx.dir.resolve("images-src");
        try (LazyCheckpoint lazy = fx.runcA.startLazyCheckpoint(id,
                CheckpointOptions.stopAndCopy(images, fx.dir.resolve("work-src")), "127.0.0.1:" + port)) {
            lazy.awaitImagesWritten(Duration.ofSeconds(60));
            Path destImages = Images.copy(images, fx.dir.resolve("images-dst"));
            assertThat(Images.size(destImages)).as("lazy images hold no bulk memory").isLessThan(16L << 20);

            fx.net.removeAddress(fx.a, ip);
            fx.net.addAddress(fx.b, ip);
            Path work = fx.dir.resolve("work-dst");
            try (LazyPagesDaemon pages = LazyPagesDaemon.start(criu, fx.runner, id, destImages, work, "127.0.0.1", port,
                    Duration.ofSeconds(20))) {
                RestoreResult restored = fx.runcB.restore(id, fx.bundle(fx.b, id, "memhog", args),
                        RestoreOptions.of(destImages, work).withLazyPages(true));
                fx.net.announce(fx.b, ip);
                assertThat(restored.pid()).isPositive();
                LazyPagesDaemon.Transferred moved = pages.awaitCompletion(Duration.ofSeconds(120));
                assertThat(moved.totalPages()).as("the 64 MB were left for the destination to pull")
                        .isGreaterThan(64L * 256);
                assertThat(moved.complete()).as("every page transferred: " + moved).isTrue();
            }
            lazy.awaitCompletion(Duration.ofSeconds(60));
            assertThat(fx.runcA.find(id)).as("source container gone once all pages arrived").isEmpty();
        }
        assertThat(fx.runcB.state(id).running()).isTrue();
        long[] after = query(ip);
        assertThat(after[1]).as("same process start time: continued").isEqualTo(before[1]);
        assertThat(after[0]).as("its loop went on").isGreaterThan(before[0]);
    }

    /**
     * Post-copy through the agents' own connection: CRIU's page server listens on loopback
     * only; the destination's lazy-pages daemon reaches it through a relay over real gRPC.
     */
    @Test
    void lazyPagesTravelThroughTheAgentsRelay() throws Exception {
        String id = "relay-" + fx.net.prefix();
        List<String> args = List.of("/bin/memhog", "32", "100");
        fx.runcA.run(id, fx.bundle(fx.a, id, "memhog", args));
        LazyPageRelayService relay = new LazyPageRelayService();
        Server server = RpcEndpoints.startServer("127.0.0.1", 0, List.of(relay));
        ManagedChannel channel = RpcEndpoints.channel("127.0.0.1:" + server.getPort());
        int pagePort = LazyCheckpoint.freePageServerPort();
        Path images = fx.dir.resolve("images-src");
        try (LazyCheckpoint lazy = fx.runcA.startLazyCheckpoint(id,
                CheckpointOptions.stopAndCopy(images, fx.dir.resolve("work-src")).withTcpEstablished(false), "127.0.0.1:" + pagePort);
             AutoCloseable registration = relay.register("mig-1", new InetSocketAddress("127.0.0.1", pagePort));
             LazyPageTunnel tunnel = LazyPageTunnel.open(LazyPageRelayGrpc.newStub(channel), "mig-1")) {
            lazy.awaitImagesWritten(Duration.ofSeconds(60));
            Path destImages = Images.copy(images, fx.dir.resolve("images-dst"));
            Path work = fx.dir.resolve("work-dst");
            try (LazyPagesDaemon pages = LazyPagesDaemon.start(criu, fx.runner, id, destImages, work, "127.0.0.1",
                    tunnel.port(), Duration.ofSeconds(20))) {
                fx.runcB.restore(id, fx.bundle(fx.b, id, "memhog", args),
                        RestoreOptions.of(destImages, work).withLazyPages(true).withTcpEstablished(false));
                LazyPagesDaemon.Transferred moved = pages.awaitCompletion(Duration.ofSeconds(120));
                assertThat(moved.complete()).as("every page transferred: " + moved).isTrue();
                assertThat(moved.totalPages()).isGreaterThan(32L * 256);
            }
            lazy.awaitCompletion(Duration.ofSeconds(60));
            assertThat(tunnel.failure()).isNull();
            assertThat(tunnel.bytesFromSource()).as("the pages came through the relay")
                    .isGreaterThanOrEqualTo(32L << 20);
        } finally {
            channel.shutdownNow();
            server.shutdownNow();
        }
        assertThat(fx.runcB.state(id).running()).isTrue();
    }

    @Test
    void lazyCheckpointNobodyPullsFromResumesOnTheSource() throws Exception {
        String ip = fx.net.newFloatingAddress();
        fx.net.addAddress(fx.a, ip);
        String id = "mem-" + fx.net.prefix();
        fx.runcA.run(id, fx.bundle(fx.a, id, "memhog", List.of("/bin/memhog", "16", "100", ip, "7001")));
        long[] before = query(ip);
        try (LazyCheckpoint lazy = fx.runcA.startLazyCheckpoint(id,
                CheckpointOptions.stopAndCopy(fx.dir.resolve("images"), fx.dir.resolve("work")), "127.0.0.1:" + LazyCheckpoint.freePageServerPort())) {
            lazy.awaitImagesWritten(Duration.ofSeconds(60));
            assertThatThrownBy(() -> lazy.awaitCompletion(Duration.ofSeconds(2)))
                    .isInstanceOf(CommandFailure.class)
                    .hasMessageContaining("lazy checkpoint of container '" + id + "'")
                    .hasMessageContaining("no lazy-pages client pulled all pages");
        }
        new NetworkLock(fx.runner).remove(fx.a.netns());
        assertThat(fx.runcA.state(id).running()).as("the container resumed on the source").isTrue();
        long[] after = query(ip);
        assertThat(after[1]).isEqualTo(before[1]);
        assertThat(after[0]).isGreaterThan(before[0]);
    }

    /** Asks memhog over UDP from the client namespace: {rounds, start}. */
    private long[] query(String ip) throws Exception {
        ProbeProcess p = fx.startProbe("udp", ip, "7001", "100", "2");
        assertThat(p.awaitEnd(Duration.ofSeconds(20))).isTrue();
        List<String> lines = p.lines();
        long[] last = null;
        for (String l : lines) {
            Matcher m = REPLY.matcher(l);
            if (m.find()) last = new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
        }
        assertThat(last).as("memhog answered: " + CheckpointRestoreIT.tail(lines)).isNotNull();
        return last;
    }
}
