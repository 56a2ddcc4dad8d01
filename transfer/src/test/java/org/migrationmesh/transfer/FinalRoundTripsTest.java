package org.migrationmesh.transfer;

import io.grpc.ClientInterceptors;
import org.migrationmesh.proto.transfer.BeginRequest;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The final round of a migration (fresh migration, first attempt, pages already sent live)
 * waits for few answers one after the other: on a long link each is a round trip of downtime.
 * Counted by causality ({@link RoundTripCounter}), not timed.
 */
class FinalRoundTripsTest extends InProcessTransfer {
    @Test
    void theFinalRoundOfAPreCopiedImageTakesTwoRoundTrips() throws Exception {
        Path src = twoProcessImage(tmp.resolve("src"), 31);
        sendLive(src);
        SyntheticImage.dirty(src, 5, 32);

        RoundTripCounter counter = new RoundTripCounter();
        ImageSender sender = new ImageSender(ClientInterceptors.intercept(h.channel, counter), Clock.systemUTC());
        TransferReport r = sender.send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE);

        TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
        assertThat(r.pagesSent()).isBetween(1L, 5L);
        assertThat(r.attempts()).isEqualTo(1);
        // Begin (which plans the pages files against what the receiver holds), then one upload answered by the commit
        assertThat(counter.roundTrips()).as("sequential round trips of the final round").isLessThanOrEqualTo(2);
    }

    @Test
    void aSenderThatKnowsWhatTheReceiverHoldsPublishesTheFinalRoundInOneRoundTrip() throws Exception {
        Path src = twoProcessImage(tmp.resolve("src"), 37);
        Map<PageKey, Long> sentLive = sendLive(src);
        SyntheticImage.dirty(src, 5, 38);

        RoundTripCounter counter = new RoundTripCounter();
        ImageSender sender = new ImageSender(ClientInterceptors.intercept(h.channel, counter), Clock.systemUTC());
        TransferReport r = sender.send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE,
                (key, digest) -> Long.valueOf(digest).equals(sentLive.get(key)));

        TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
        assertThat(r.pagesSent()).isBetween(1L, 5L);
        assertThat(r.pagesUnchanged()).isPositive();
        // Begin carrying the plans the sender expects and the whole upload with its commit, answered by the published round
        assertThat(counter.roundTrips()).as("sequential round trips of the final round").isEqualTo(1);
    }

    @Test
    void aSenderThatCountsOnPagesTheReceiverLacksCostsRoundTripsNotTheImage() throws Exception {
        Path src = twoProcessImage(tmp.resolve("src"), 41);
        sendLive(src);
        SyntheticImage.dirty(src, 5, 42);

        RoundTripCounter counter = new RoundTripCounter();
        ImageSender sender = new ImageSender(ClientInterceptors.intercept(h.channel, counter), Clock.systemUTC());
        TransferReport r = sender.send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE,
                (key, digest) -> true); // it holds every page: not the 5 changed ones
        TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
        assertThat(r.pagesSent()).as("pages the receiver lacked, as it planned them").isBetween(1L, 5L);
        // the Begin that left out the digests of every page is refused (the receiver's own differ), then
        // every digest with the Begin, and the upload
        assertThat(counter.roundTrips()).isEqualTo(3);
    }

    @Test
    void aSenderThatCountsOnPagesNeverSentStillPublishesTheImage() throws Exception {
        Path src = twoProcessImage(tmp.resolve("src"), 57);
        Map<PageKey, Long> sentLive = sendLive(src, "pages-1.img");
        SyntheticImage.dirty(src, 5, 58);
        ImageScan.PagemapLayout second = ImageScan.of(src, migration, 1).layoutOf("pages-2.img").orElseThrow();
        TransferReport r = h.sender().send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE,
                (key, digest) -> key.space().equals(second.space()) || Long.valueOf(digest).equals(sentLive.get(key)));
        TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
        assertThat(r.pagesSent()).as("process 2's pages, never sent live").isGreaterThanOrEqualTo(40L);
    }

    @Test
    void theFinalRoundCarriesTheDigestsOfChangedPagesOnly() throws Exception {
        Path src = twoProcessImage(tmp.resolve("src"), 53);
        Map<PageKey, Long> sentLive = sendLive(src);
        SyntheticImage.dirty(src, 5, 54);
        DeltaPlanner.Holdings held = (key, digest) -> Long.valueOf(digest).equals(sentLive.get(key));
        ImageScan scan = ImageScan.of(src, migration, 1);

        BeginRequest all = PagePlanning.of(scan, migration, 1, TransferOptions.defaults(), 1 << 16, PagePlanning.BEGIN_BUDGET, null)
                .addTo(BeginRequest.newBuilder()).build();
        PagePlanning leavingOut = PagePlanning.of(scan, migration, 1, TransferOptions.defaults(), 1 << 16,
                PagePlanning.BEGIN_BUDGET, held);
        BeginRequest begin = leavingOut.addTo(BeginRequest.newBuilder()).build();
        assertThat(leavingOut.leavesOutHeld()).isTrue();
        assertThat(digestBytes(all)).as("every page's digest").isGreaterThan(8L * SyntheticImage.PAGES / 2);
        assertThat(digestBytes(begin)).as("the changed pages' digests").isLessThanOrEqualTo(5 * 8);
        assertThat(begin.getSerializedSize()).isLessThan(all.getSerializedSize() - 8 * SyntheticImage.PAGES / 2);

        TransferReport r = h.sender().send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE, held);
        TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
        assertThat(r.attempts()).isEqualTo(1);
    }

    private static long digestBytes(BeginRequest b) {
        return b.getPageDigestsList().stream().mapToLong(d -> d.getDigests().size()).sum();
    }

    @Test
    void aSenderThatCountsOnTooFewPagesSendsMoreInOneRoundTrip() throws Exception {
        Path src = twoProcessImage(tmp.resolve("src"), 47);
        Map<PageKey, Long> sentLive = sendLive(src);
        SyntheticImage.dirty(src, 5, 48);

        RoundTripCounter counter = new RoundTripCounter();
        ImageSender sender = new ImageSender(ClientInterceptors.intercept(h.channel, counter), Clock.systemUTC());
        // Counts only process 2's pages as held (as a source whose last pages may still be on their way).
        TransferReport r = sender.send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE,
                (key, digest) -> key.space().equals("2") && Long.valueOf(digest).equals(sentLive.get(key)));
        TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
        assertThat(r.pagesSent()).as("process 1's pages sent again, though held").isGreaterThan(5L);
        assertThat(counter.roundTrips()).isEqualTo(1);
    }

    @Test
    void aRoundLargerThanTheBudgetDoesNotRideWithTheBegin() throws Exception {
        Path src = twoProcessImage(tmp.resolve("src"), 43);
        Map<PageKey, Long> sentLive = sendLive(src);
        SyntheticImage.dirty(src, 5, 44);

        RoundTripCounter counter = new RoundTripCounter();
        ImageSender sender = new ImageSender(ClientInterceptors.intercept(h.channel, counter), Clock.systemUTC())
                .speculationBudget(4096);
        TransferReport r = sender.send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE,
                (key, digest) -> Long.valueOf(digest).equals(sentLive.get(key)));
        TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
        assertThat(r.wireBytes()).as("nothing of the upload sent twice").isLessThan(64 * 4096);
        assertThat(counter.roundTrips()).isEqualTo(2);
    }

    @Test
    void anImageWithoutPagesTakesTwoRoundTrips() throws Exception {
        Path src = tmp.resolve("bundle");
        Files.createDirectories(src);
        Files.write(src.resolve("config.json"), "{}".getBytes());
        RoundTripCounter counter = new RoundTripCounter();
        ImageSender sender = new ImageSender(ClientInterceptors.intercept(h.channel, counter), Clock.systemUTC());
        TransferReport r = sender.send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
        assertThat(counter.roundTrips()).isLessThanOrEqualTo(2);
    }

    @Test
    void aLiveReadThatDiffersFromTheDumpIsLaidOutByteForByteInOneRoundTrip() throws Exception {
        // pages read live the dump no longer has, ahead of all (nothing in place: the held runs are copied) or
        // between the regions (half in place: the live file becomes the pages file, the rest moved), and the
        // last pages of the second region not read live (they travel)
        for (long extrasAt : new long[] {0x7fd000L, 0x814000L}) {
            migration = "m-shifted-" + Long.toHexString(extrasAt);
            Path src = tmp.resolve("src-" + Long.toHexString(extrasAt));
            SyntheticImage.write(src, 43);
            byte[] other = new byte[40 * 4096];
            new Random(44).nextBytes(other);
            Files.write(src.resolve("pages-2.img"), other);
            Files.write(src.resolve("pagemap-2.img"), SyntheticImage.pagemap(2, new long[][] {
                {0x800000L, 20, PagemapImage.PE_PRESENT}, {0x900000L, 20, PagemapImage.PE_PRESENT}}));
            Map<PageKey, Long> sentLive = sendLive(src, "pages-1.img");
            ImageScan.PagemapLayout layout = ImageScan.of(src, migration, 1).layoutOf("pages-2.img").orElseThrow();
            java.util.TreeMap<Long, byte[]> read = new java.util.TreeMap<>();
            for (int i = 0; i < 38; i++) read.put(layout.vaddrs()[i], java.util.Arrays.copyOfRange(other, i * 4096, (i + 1) * 4096));
            for (int k = 0; k < 3; k++) read.put(extrasAt + k * 4096L, new byte[4096]);
            long[] vaddrs = read.keySet().stream().mapToLong(Long::longValue).toArray();
            byte[] pages = new byte[vaddrs.length * 4096];
            for (int i = 0; i < vaddrs.length; i++) {
                System.arraycopy(read.get(vaddrs[i]), 0, pages, i * 4096, 4096);
                sentLive.put(new PageKey(layout.space(), vaddrs[i]), PageHash.of(pages, i * 4096));
            }
            h.sender().sendLivePages(migration, layout.space(), vaddrs, pages, TransferOptions.defaults());
            SyntheticImage.dirty(src, 5, 45);

            RoundTripCounter counter = new RoundTripCounter();
            ImageSender sender = new ImageSender(ClientInterceptors.intercept(h.channel, counter), Clock.systemUTC());
            TransferReport r = sender.send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE,
                    (key, digest) -> Long.valueOf(digest).equals(sentLive.get(key)));

            TransferHarness.assertSameTree(src, Path.of(r.receiverImageDir()));
            assertThat(r.pagesSent()).as("the pages changed and the 2 not read live").isBetween(3L, 7L);
            assertThat(counter.roundTrips()).as("sequential round trips of the final round").isEqualTo(1);
        }
    }

    /** SyntheticImage's process 1 and a second process of 40 random pages. */
    static Path twoProcessImage(Path src, long seed) throws Exception {
        SyntheticImage.write(src, seed);
        byte[] other = new byte[40 * 4096];
        new Random(seed + 1).nextBytes(other);
        Files.write(src.resolve("pages-2.img"), other);
        Files.write(src.resolve("pagemap-2.img"), SyntheticImage.pagemap(2, new long[][] {{0x800000L, 40, PagemapImage.PE_PRESENT}}));
        return src;
    }

    /** What pre-copy does before the final dump: every page of both processes sent live. Returns their digests. */
    private Map<PageKey, Long> sendLive(Path src) throws Exception {
        return sendLive(src, "pages-1.img", "pages-2.img");
    }

    /** Every page of these pages files sent live. Returns their digests. */
    private Map<PageKey, Long> sendLive(Path src, String... files) throws Exception {
        ImageScan scan = ImageScan.of(src, migration, 1);
        ImageSender live = h.sender();
        Map<PageKey, Long> sent = new HashMap<>();
        for (String pages : files) {
            ImageScan.PagemapLayout layout = scan.layoutOf(pages).orElseThrow();
            byte[] content = Files.readAllBytes(src.resolve(pages));
            live.sendLivePages(migration, layout.space(), layout.vaddrs(), content, TransferOptions.defaults());
            for (int i = 0; i < layout.vaddrs().length; i++) {
                sent.put(new PageKey(layout.space(), layout.vaddrs()[i]), PageHash.of(content, i * PageHash.PAGE_SIZE));
            }
        }
        return sent;
    }
}
