package org.migrationmesh.transfer.lazy;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.migrationmesh.proto.lazypages.LazyPageRelayGrpc;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The relay with pushes between two agents (in-process gRPC), in front of a scripted page
 * server, pulled by a scripted daemon that checks every answer against the page server's
 * pages and the order of its requests.
 */
class PushingRelayTest {
    private static final int P = ScriptedPageServer.P;
    private static final Map<Long, long[]> LAZY = Map.of(1L, new long[] {0x400000L, 300}, 7L, new long[] {0x7f0000000000L, 40});
    @TempDir
    Path images;
    private final LazyPageRelayService service = new LazyPageRelayService(new LazyPageRelayService.PushSettings(16 * P, 64 * P, 2));
    private Server server;
    private ManagedChannel channel;
    private ScriptedPageServer pageServer;

    @BeforeEach
    void setUp() throws Exception {
        String name = "push-" + UUID.randomUUID();
        server = InProcessServerBuilder.forName(name).addService(service).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
        pageServer = new ScriptedPageServer(LAZY, 64);
        pageServer.writePagemaps(images);
    }

    @AfterEach
    void tearDown() throws Exception {
        channel.shutdownNow();
        server.shutdownNow();
        pageServer.close();
    }

    /** Every lazy page as {pid, vaddr} keys. */
    private static Set<List<Long>> allPages() {
        Set<List<Long>> all = new HashSet<>();
        LAZY.forEach((pid, r) -> {
            for (long i = 0; i < r[1]; i++) all.add(List.of(pid, r[0] + i * P));
        });
        return all;
    }

    /** A daemon: sends {@code batch}, reads the answers in order, checks them; returns the pages got. */
    /** Asks for every lazy page, 16 at a time in address order, as the daemon's background fetch does; returns those it did not get. */
    private static Set<List<Long>> askEveryPage(Socket s) throws IOException {
        Set<List<Long>> missing = allPages();
        for (Map.Entry<Long, long[]> e : LAZY.entrySet()) {
            for (long a = e.getValue()[0]; a < e.getValue()[0] + e.getValue()[1] * P; ) {
                long pagesLeft = Math.min(16, (e.getValue()[0] + e.getValue()[1] * P - a) / P);
                Set<List<Long>> got = ask(s, List.of(PageServerIov.get(e.getKey(), a, pagesLeft)));
                missing.removeAll(got);
                a += (long) got.size() * P;
            }
        }
        return missing;
    }

    private static Set<List<Long>> ask(Socket s, List<PageServerIov> batch) throws IOException {
        OutputStream out = s.getOutputStream();
        for (PageServerIov q : batch) out.write(q.encode());
        out.flush();
        DataInputStream in = new DataInputStream(s.getInputStream());
        Set<List<Long>> got = new HashSet<>();
        byte[] head = new byte[PageServerIov.SIZE];
        byte[] page = new byte[P];
        for (PageServerIov q : batch) {
            in.readFully(head);
            PageServerIov h = PageServerIov.decode(head, 0);
            assertThat(h.cmd()).isEqualTo(0x40006);
            assertThat(h.dstId()).isEqualTo(q.dstId());
            assertThat(h.vaddr()).as("answers in request order").isEqualTo(q.vaddr());
            assertThat(h.nrPages()).isBetween(1L, q.nrPages());
            for (long i = 0; i < h.nrPages(); i++) {
                in.readFully(page);
                assertThat(page).as("page %x of %d", q.vaddr() + i * P, q.dstId())
                        .isEqualTo(ScriptedPageServer.page(q.dstId(), q.vaddr() + i * P));
                got.add(List.of(q.dstId(), q.vaddr() + i * P));
            }
        }
        return got;
    }

    private static void closeLikeTheDaemon(Socket s) throws IOException {
        s.getOutputStream().write(new PageServerIov(PageServerIov.PS_IOV_CLOSE, 0, 0, 0, 0).encode());
        byte[] status = new byte[4];
        new DataInputStream(s.getInputStream()).readFully(status);
        assertThat(status).containsOnly(0);
        s.shutdownOutput();
        assertThat(s.getInputStream().read()).as("the page server's close reaches the daemon").isEqualTo(-1);
    }

    @Test
    void faultsAndBackgroundRequestsGetThePageServersBytesInOrder() throws Exception {
        Random r = new Random(3);
        try (AutoCloseable reg = service.register("m", pageServer.address(), images);
             LazyPageTunnel tunnel = LazyPageTunnel.open(LazyPageRelayGrpc.newStub(channel), "m");
             Socket s = new Socket(InetAddress.getLoopbackAddress(), tunnel.port())) {
            s.setSoTimeout(10_000);
            Set<List<Long>> missing = allPages();
            while (!missing.isEmpty()) {
                List<List<Long>> left = new ArrayList<>(missing);
                List<PageServerIov> batch = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    List<Long> k = left.get(r.nextInt(left.size()));
                    long pages = r.nextBoolean() ? 1 : 1 + r.nextInt(16);
                    long end = LAZY.get(k.get(0))[0] + LAZY.get(k.get(0))[1] * P;
                    pages = Math.min(pages, (end - k.get(1)) / P);
                    batch.add(PageServerIov.get(k.get(0), k.get(1), pages));
                }
                missing.removeAll(ask(s, batch));
            }
            closeLikeTheDaemon(s);
            assertThat(pageServer.failure.get()).isNull();
            assertThat(tunnel.failure()).isNull();
        }
    }

    @Test
    void pagesPushedAheadAreAnsweredWithoutAskingTheSource() throws Exception {
        try (AutoCloseable reg = service.register("m", pageServer.address(), images);
             LazyPageTunnel tunnel = LazyPageTunnel.open(LazyPageRelayGrpc.newStub(channel), "m");
             Socket s = new Socket(InetAddress.getLoopbackAddress(), tunnel.port())) {
            s.setSoTimeout(10_000);
            long lazyBytes = 340L * P;
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (tunnel.bytesFromSource() < lazyBytes && System.nanoTime() < deadline) Thread.sleep(10);
            assertThat(tunnel.bytesFromSource()).as("every lazy page pushed before anyone asked").isEqualTo(lazyBytes);
            int asked = pageServer.requests.size();
            Set<List<Long>> missing = allPages();
            for (Map.Entry<Long, long[]> e : LAZY.entrySet()) {
                for (long a = e.getValue()[0]; a < e.getValue()[0] + e.getValue()[1] * P; a += 16L * P) {
                    long pages = Math.min(16, (e.getValue()[0] + e.getValue()[1] * P - a) / P);
                    missing.removeAll(ask(s, List.of(PageServerIov.get(e.getKey(), a, pages))));
                }
            }
            assertThat(missing).isEmpty();
            assertThat(pageServer.requests).as("nothing more asked of the page server").hasSize(asked);
            closeLikeTheDaemon(s);
            assertThat(pageServer.requests.get(asked).isClose()).isTrue();
            assertThat(pageServer.failure.get()).isNull();
            assertThat(tunnel.failure()).isNull();
        }
    }

    /**
     * The destination holds the pre-copy's copies of process 1's pages: most as the page server
     * has them now, every 10th stale (changed after the pre-copy read it), and the source's
     * memory of what it sent is wrong about every 25th (it believes the destination holds the
     * current page; the copy there is stale). Only what changed travels as pages; the daemon
     * gets every page exactly as the page server has it.
     */
    @Test
    void pagesThePreCopySentUnchangedGoAsDigestsAndAreAnsweredFromTheCopies(@TempDir Path storeDir) throws Exception {
        long base = LAZY.get(1L)[0];
        int pages = (int) LAZY.get(1L)[1];
        Set<Long> sentUnchanged = new HashSet<>();
        try (org.migrationmesh.transfer.FilePageStore store = new org.migrationmesh.transfer.FilePageStore(storeDir)) {
            for (int i = 0; i < pages; i++) {
                long a = base + (long) i * P;
                boolean stale = i % 10 == 0 || i % 25 == 0;
                byte[] copy = stale ? ScriptedPageServer.page(99, a) : ScriptedPageServer.page(1, a);
                store.putLive(new org.migrationmesh.transfer.PageKey("1", a), copy, 0);
                if (i % 10 != 0) sentUnchanged.add(a); // wrong for every 25th that is not a 10th
            }
            PreCopiedPages preCopied = (pid, vaddr, page, off) -> pid == 1 && sentUnchanged.contains(vaddr);
            try (AutoCloseable reg = service.register("m", pageServer.address(), images, preCopied);
                 LazyPageTunnel tunnel = LazyPageTunnel.open(LazyPageRelayGrpc.newStub(channel), "m",
                         LazyPageTunnel.DEFAULT_CACHE_BYTES, store);
                 Socket s = new Socket(InetAddress.getLoopbackAddress(), tunnel.port())) {
                s.setSoTimeout(10_000);
                settled(tunnel); // everything pushed ahead: the daemon's own requests would bring whole pages
                assertThat(askEveryPage(s)).as("pages the daemon did not get").isEmpty();
                long wrong = java.util.stream.IntStream.range(0, pages).filter(i -> i % 25 == 0 && i % 10 != 0).count();
                assertThat(tunnel.pagesFromPreCopy()).as("process 1's unchanged pages came from the copies")
                        .isEqualTo(sentUnchanged.size() - wrong);
                long changedBytes = (pages - sentUnchanged.size() + LAZY.get(7L)[1]) * P;
                assertThat(tunnel.bytesFromSource()).as("only changed pages, the stale copies and digests crossed the link")
                        .isLessThan(changedBytes + wrong * (P + 64) + sentUnchanged.size() * 8L + 64L * 64);
                closeLikeTheDaemon(s);
                assertThat(pageServer.failure.get()).isNull();
                assertThat(tunnel.failure()).isNull();
            }
        }
    }

    /**
     * The frozen round's mark: the destination holds every page of process 1 as the frozen process
     * has it and knows so. Nothing of process 1 crosses the link, not even digests; its pages
     * come from the store; process 7 (not marked) is pushed as before.
     */
    @Test
    void pagesMarkedFrozenAreAnsweredFromTheStoreAndNeverSent(@TempDir Path storeDir) throws Exception {
        long base = LAZY.get(1L)[0];
        int pages = (int) LAZY.get(1L)[1];
        try (org.migrationmesh.transfer.FilePageStore store = new org.migrationmesh.transfer.FilePageStore(storeDir)) {
            long[] vaddrs = new long[pages];
            for (int i = 0; i < pages; i++) {
                vaddrs[i] = base + (long) i * P;
                store.putLive(new org.migrationmesh.transfer.PageKey("1", vaddrs[i]), ScriptedPageServer.page(1, vaddrs[i]), 0);
            }
            store.markFrozen("1", vaddrs);
            PreCopiedPages preCopied = new PreCopiedPages() {
                @Override
                public boolean sentUnchanged(long pid, long vaddr, byte[] page, int off) {
                    return false;
                }

                @Override
                public boolean markedFrozen(long pid, long vaddr) {
                    return pid == 1;
                }
            };
            try (AutoCloseable reg = service.register("m", pageServer.address(), images, preCopied);
                 LazyPageTunnel tunnel = LazyPageTunnel.open(LazyPageRelayGrpc.newStub(channel), "m",
                         LazyPageTunnel.DEFAULT_CACHE_BYTES, store);
                 Socket s = new Socket(InetAddress.getLoopbackAddress(), tunnel.port())) {
                s.setSoTimeout(10_000);
                settled(tunnel);
                assertThat(askEveryPage(s)).as("pages the daemon did not get").isEmpty();
                assertThat(tunnel.pagesFromPreCopy()).as("process 1's pages came from the store").isEqualTo(pages);
                assertThat(tunnel.bytesFromSource()).as("only process 7's pages crossed the link")
                        .isLessThan(LAZY.get(7L)[1] * (P + 64) + 64L * 64);
                closeLikeTheDaemon(s);
            }
        }
    }

    @Test
    void theTunnelTakesPushesBeforeTheDaemonConnects() throws Exception {
        try (AutoCloseable reg = service.register("m", pageServer.address(), images);
             LazyPageTunnel tunnel = LazyPageTunnel.open(LazyPageRelayGrpc.newStub(channel), "m")) {
            tunnel.connectNow();
            long lazyBytes = 340L * P;
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (tunnel.bytesFromSource() < lazyBytes && System.nanoTime() < deadline) Thread.sleep(10);
            assertThat(tunnel.bytesFromSource()).as("every lazy page pushed with no daemon connected").isEqualTo(lazyBytes);
            int asked = pageServer.requests.size();
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), tunnel.port())) {
                s.setSoTimeout(10_000);
                assertThat(ask(s, List.of(PageServerIov.get(1, 0x400000L, 16), PageServerIov.get(7, 0x7f0000000000L + 8 * P, 1))))
                        .hasSize(17);
                assertThat(pageServer.requests).as("answered from the pushes").hasSize(asked);
                assertThat(tunnel.pagesAnsweredLocally()).isEqualTo(17);
                closeLikeTheDaemon(s);
            }
            assertThat(tunnel.failure()).isNull();
        }
    }

    @Test
    void aFullCacheHoldsThePushesBackUntilTheDaemonTakesPages(@TempDir Path bigImages) throws Exception {
        long start = 0x10000000L;
        Map<Long, long[]> big = Map.of(5L, new long[] {start, 4096}); // 16 MiB
        try (ScriptedPageServer ps = new ScriptedPageServer(big, 256)) {
            ps.writePagemaps(bigImages);
            try (AutoCloseable reg = service.register("big", ps.address(), bigImages);
                 LazyPageTunnel tunnel = LazyPageTunnel.open(LazyPageRelayGrpc.newStub(channel), "big", LazyPageTunnel.MIN_CACHE_BYTES);
                 Socket s = new Socket(InetAddress.getLoopbackAddress(), tunnel.port())) {
                s.setSoTimeout(10_000);
                long held = settled(tunnel);
                // acknowledgements stop at 3/4 of the 8 MiB; at most the source's window (64 pages) more arrives
                assertThat(held).isBetween(6L << 20, (6L << 20) + 64L * P);
                Set<List<Long>> got = new HashSet<>();
                for (long a = start; a < start + 4096L * P; a += 64L * P) {
                    long next = a;
                    while (next < a + 64L * P) { // a cached run may end before the request does, as a page server's may
                        Set<List<Long>> g = ask(s, List.of(PageServerIov.get(5, next, (a + 64L * P - next) / P)));
                        got.addAll(g);
                        next += (long) g.size() * P;
                    }
                }
                assertThat(got).hasSize(4096);
                assertThat(tunnel.bytesFromSource()).as("pushes resumed once the daemon took pages").isGreaterThan(held + (1 << 20));
                closeLikeTheDaemon(s);
                assertThat(ps.failure.get()).isNull();
                assertThat(tunnel.failure()).isNull();
            }
        }
    }

    /** Waits until the bytes from the source stop growing for 300 ms; returns them. */
    private static long settled(LazyPageTunnel tunnel) throws InterruptedException {
        long last = -1;
        while (true) {
            Thread.sleep(300);
            long now = tunnel.bytesFromSource();
            if (now == last) return now;
            last = now;
        }
    }

    @Test
    void anUnreadablePagemapIsRefusedAtRegistration(@TempDir Path empty) throws Exception {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> service.register("early", pageServer.address(), empty))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not written yet");
        java.nio.file.Files.write(images.resolve("pagemap-3.img"), new byte[] {1, 2, 3});
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> service.register("bad", pageServer.address(), images))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("migration bad").hasMessageContaining(images.toString());
        assertThat(service.pageServer("bad")).isEmpty();
    }

    @Test
    void aSourceThatDoesNotPushIsReadByTheAnsweringDestination() throws Exception {
        try (AutoCloseable reg = service.register("m", pageServer.address());
             LazyPageTunnel tunnel = LazyPageTunnel.open(LazyPageRelayGrpc.newStub(channel), "m");
             Socket s = new Socket(InetAddress.getLoopbackAddress(), tunnel.port())) {
            s.setSoTimeout(10_000);
            assertThat(ask(s, List.of(PageServerIov.get(1, 0x400000L + 60 * P, 8), PageServerIov.get(7, 0x7f0000000000L, 1))))
                    .as("4 pages up to the page server's buffer end, then 1").hasSize(5);
            assertThat(pageServer.requests).as("no pushes").hasSize(2);
            assertThat(tunnel.pagesForwarded()).isEqualTo(5);
            closeLikeTheDaemon(s);
            assertThat(tunnel.failure()).isNull();
        }
    }

    @Test
    void aDestinationThatRefusesPushesGetsAPlainRelay() throws Exception {
        try (AutoCloseable reg = service.register("m", pageServer.address(), images);
             LazyPageTunnel tunnel = LazyPageTunnel.open(LazyPageRelayGrpc.newStub(channel), "m", 0);
             Socket s = new Socket(InetAddress.getLoopbackAddress(), tunnel.port())) {
            s.setSoTimeout(10_000);
            assertThat(ask(s, List.of(PageServerIov.get(7, 0x7f0000000000L, 40)))).hasSize(40);
            Thread.sleep(100);
            assertThat(pageServer.requests).as("no pushes").hasSize(1);
            closeLikeTheDaemon(s);
            assertThat(tunnel.failure()).isNull();
        }
    }
}
