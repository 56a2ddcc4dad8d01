package org.migrationmesh.transfer;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import org.migrationmesh.proto.transfer.ImageTransferGrpc;
import org.migrationmesh.proto.transfer.PageDigests;
import org.migrationmesh.rpc.RpcEndpoints;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Prints how long the final round of a pre-copied image takes over a long link: a receiver on
 * loopback behind a {@link DelayProxy} (a fixed delay each way), an image of two processes whose
 * pages were all sent live ahead, of which a few changed before the final dump. The time is
 * printed in ms and in round trips of the link as a gRPC call sees it (a call the receiver
 * answers at once, measured in the same run), against the long way in the same run (pagemaps
 * uploaded first, then PlanPages, then the pages: what a round too large for the Begin does).
 * Numbers only, no assertions.
 *
 * <p>The one-upload round is sent as an agent sends it after pre-copy: planned by the sender from
 * the digests of what it sent live, so the whole upload and its commit ride with the Begin and
 * the receiver answers it with the published round. Each phase of it is summarised as median and
 * spread (min..max) over the runs: the total, scan (sender reads the image), plan (the Begin:
 * the receiver plans, lays out the pages files, takes the chunks, checks and publishes), commit
 * (zero when the Begin published the round; else from the commit message to its answer) and the
 * rest (planning's encoding, reading the chunks), and the CPU time the process (sender and
 * receiver) spent on the round.
 *
 * <p>The first process's pages lie in {@value #REGIONS} regions with gaps between them (as a
 * dump's mappings do). Arguments: [one-way delays in ms, comma separated (45,80: 90 and 160 ms
 * round trips); the token {@code direct} connects to the receiver without the proxy (the proxy
 * adds about 10 ms of round trip even at delay 0)] [MB of pages (20)] [pages changed (20)] [runs
 * per delay (5)] [{@code shifted}: the live read and the dump of the first process differ by a
 * few dozen pages, as in a real tour (5122 pages read live, 5094 dumped): the live read has
 * pages in some gaps that are gone by the dump, and lacks the last pages of some regions the
 * dump has, so from the first gap on the receiver's live file is off the pages file by a
 * varying number of pages].
 */
public final class FinalRoundLatencyBenchmark {
    /** CPU time of this process (sender and receiver both), less disturbed by other jobs on the machine than wall time. */
    private static final com.sun.management.OperatingSystemMXBean CPU =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    /** Regions of the first process's pages, and pages between them the dump does not have. */
    private static final int REGIONS = 8, GAP = 16;
    /** When shifted: pages of a gap read live after each of these regions, and pages at the end of others not read live. */
    private static final int GAP_READ = 8, END_UNREAD = 6;
    private static final java.util.Set<Integer> GAPS_READ = java.util.Set.of(0, 1, 3, 4, 6), ENDS_UNREAD = java.util.Set.of(2, 5);

    public static void main(String[] args) throws Exception {
        String[] delays = (args.length > 0 ? args[0] : "45,80").split(",");
        int mb = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int dirty = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        int runs = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        boolean shifted = args.length > 4 && args[4].equals("shifted");
        Path work = Files.createTempDirectory("final-round-latency-");
        // as an agent does when it starts: the round's loops compiled before anything is timed
        System.out.printf(Locale.ROOT, "warm-up (as an agent's) %d ms%n", TransferWarmUp.run(work.resolve("warm-up"), 6, 2048).toMillis());
        try (TransferHarness h = TransferHarness.loopback(work.resolve("recv"))) {
            Path src = work.resolve("src");
            Files.createDirectories(src);
            Random r = new Random(1);
            int pages1 = mb * 256 * 4 / 5, pages2 = mb * 256 - pages1;
            byte[][] content = {new byte[pages1 * PageHash.PAGE_SIZE], new byte[pages2 * PageHash.PAGE_SIZE]};
            for (int p = 0; p < 2; p++) r.nextBytes(content[p]);
            long base1 = 0x7f0000000000L, base2 = base1 + (1L << 36);
            long[][] regions1 = new long[REGIONS][];
            for (int k = 0; k < REGIONS; k++) {
                int first = pages1 * k / REGIONS, n = pages1 * (k + 1) / REGIONS - first;
                regions1[k] = new long[] {base1 + (long) (first + k * GAP) * PageHash.PAGE_SIZE, n, PagemapImage.PE_PRESENT};
            }
            Files.write(src.resolve("pagemap-1.img"), SyntheticImage.pagemap(1, regions1));
            Files.write(src.resolve("pagemap-2.img"), SyntheticImage.pagemap(2, new long[][] {{base2, pages2, PagemapImage.PE_PRESENT}}));
            Files.write(src.resolve("inventory.img"), "inventory".getBytes());
            // What the source reads live of the first process, in address order: the dump's pages, and when shifted some more and some fewer.
            java.util.List<Long> live1 = new java.util.ArrayList<>();
            java.util.List<Integer> liveFrom1 = new java.util.ArrayList<>(); // page of the dump, or -1: a page the dump does not have
            for (int k = 0, page = 0; k < REGIONS; k++) {
                int n = (int) regions1[k][1];
                int read = shifted && ENDS_UNREAD.contains(k) ? n - END_UNREAD : n;
                for (int i = 0; i < n; i++, page++) {
                    if (i >= read) continue;
                    live1.add(regions1[k][0] + (long) i * PageHash.PAGE_SIZE);
                    liveFrom1.add(page);
                }
                if (shifted && GAPS_READ.contains(k) && k < REGIONS - 1) {
                    for (int i = 0; i < GAP_READ; i++) {
                        live1.add(regions1[k][0] + (long) (n + i) * PageHash.PAGE_SIZE);
                        liveFrom1.add(-1);
                    }
                }
            }
            System.out.printf(Locale.ROOT, "final round of %d MiB of pages (2 processes), %d pages changed since sent live, %d runs%s%n",
                    mb, dirty, runs, shifted ? String.format(Locale.ROOT, ", %d pages of the first process read live, %d dumped",
                            live1.size(), pages1) : "");
            for (String delayArg : delays) {
                boolean direct = delayArg.equals("direct");
                long delay = direct ? 0 : Long.parseLong(delayArg);
                try (DelayProxy proxy = direct ? null : new DelayProxy(h.server.getPort(), delay)) {
                    ManagedChannel far = RpcEndpoints.channel("127.0.0.1:" + (direct ? h.server.getPort() : proxy.port()));
                    try {
                        double rtt = probeRtt(far);
                        ImageSender[] senders = { // as sent; the long way: pagemaps uploaded, then PlanPages, then pages
                            new ImageSender(far, Clock.systemUTC()), new ImageSender(far, Clock.systemUTC()).beginBudget(0)};
                        String[] names = {"one upload", "long way"};
                        double[][] ms = new double[2][runs];
                        double[][] phases = new double[5][runs]; // one upload: scan, plan, commit, rest, CPU
                        for (int run = 0; run < runs; run++) {
                            for (int way = 0; way < 2; way++) {
                                String id = "final-" + delay + "-" + run + "-" + way;
                                for (int p = 0; p < 2; p++) {
                                    Files.write(src.resolve("pages-" + (p + 1) + ".img"), content[p]);
                                    byte[] core = new byte[3000]; // new in each dump: the receiver does not hold it
                                    r.nextBytes(core);
                                    Files.write(src.resolve("core-" + (p + 1) + ".img"), core);
                                }
                                ImageScan scan = ImageScan.of(src, id, 1);
                                java.util.Map<PageKey, Long> sentLive = new java.util.HashMap<>(); // what the sender knows the receiver holds
                                for (int p = 0; p < 2; p++) { // live pages over the short path: only the final round is timed
                                    ImageScan.PagemapLayout l = scan.layoutOf("pages-" + (p + 1) + ".img").orElseThrow();
                                    long[] vaddrs = l.vaddrs();
                                    byte[] pages = content[p];
                                    if (p == 0) {
                                        vaddrs = live1.stream().mapToLong(Long::longValue).toArray();
                                        pages = new byte[vaddrs.length * PageHash.PAGE_SIZE];
                                        r.nextBytes(pages);
                                        for (int i = 0; i < vaddrs.length; i++) {
                                            int from = liveFrom1.get(i);
                                            if (from >= 0) System.arraycopy(content[0], from * PageHash.PAGE_SIZE, pages, i * PageHash.PAGE_SIZE, PageHash.PAGE_SIZE);
                                        }
                                    }
                                    h.sender().sendLivePages(id, l.space(), vaddrs, pages, TransferOptions.defaults());
                                    for (int i = 0; i < vaddrs.length; i++) {
                                        sentLive.put(new PageKey(l.space(), vaddrs[i]), PageHash.of(pages, i * PageHash.PAGE_SIZE));
                                    }
                                }
                                DeltaPlanner.Holdings held = (key, digest) -> Long.valueOf(digest).equals(sentLive.get(key));
                                byte[] changed = content[0].clone();
                                for (int i = 0; i < dirty; i++) changed[r.nextInt(pages1) * PageHash.PAGE_SIZE + r.nextInt(PageHash.PAGE_SIZE)] ^= 1;
                                Files.write(src.resolve("pages-1.img"), changed);
                                long cpu0 = CPU.getProcessCpuTime();
                                long t0 = System.nanoTime();
                                TransferReport fin = senders[way].send(id, 1, src, TransferOptions.defaults(), TransferListener.NONE, way == 0 ? held : null);
                                ms[way][run] = (System.nanoTime() - t0) / 1e6;
                                double cpu = (CPU.getProcessCpuTime() - cpu0) / 1e6;
                                if (way == 0) {
                                    phases[0][run] = fin.scanning().toNanos() / 1e6;
                                    phases[1][run] = fin.planning().toNanos() / 1e6;
                                    phases[2][run] = fin.committing().toNanos() / 1e6;
                                    phases[3][run] = ms[0][run] - phases[0][run] - phases[1][run] - phases[2][run];
                                    phases[4][run] = cpu;
                                }
                                TransferHarness.assertSameTree(src, Path.of(fin.receiverImageDir()));
                                System.out.printf(Locale.ROOT, "  rtt %.0f ms, run %d, %-10s: final %4.0f ms = %.2f rtt (scan %.0f, plan %.0f,"
                                                + " commit %.0f ms; CPU %.0f ms; %.1f KiB wire, %d pages sent)%n",
                                        rtt, run, names[way], ms[way][run], ms[way][run] / rtt, fin.scanning().toNanos() / 1e6,
                                        fin.planning().toNanos() / 1e6, fin.committing().toNanos() / 1e6, cpu, fin.wireBytes() / 1024.0,
                                        fin.pagesSent());
                                h.receiver.discard(id);
                            }
                        }
                        double one = median(ms[0]), longWay = median(ms[1]);
                        String link = direct ? "direct" : "one way " + delay + " ms";
                        System.out.printf(Locale.ROOT, "%s (gRPC rtt %.1f ms): final round median %.0f ms = %.2f rtt;"
                                        + " the long way %.0f ms = %.2f rtt; one upload/long way %.2f%n",
                                link, rtt, one, one / rtt, longWay, longWay / rtt, one / longWay);
                        System.out.printf(Locale.ROOT, "%s one upload, median [min..max] ms: total %s, scan %s, plan %s, commit %s,"
                                        + " rest %s; CPU (both sides) %s%n", link, spread(ms[0]), spread(phases[0]), spread(phases[1]),
                                spread(phases[2]), spread(phases[3]), spread(phases[4]));
                    } finally {
                        far.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                    }
                }
            }
        } finally {
            MigrationImages.deleteTree(work);
        }
    }

    /** The fastest of a few calls the receiver refuses at once (no Begin for that migration): one round trip, in ms. */
    private static double probeRtt(ManagedChannel far) {
        var stub = ImageTransferGrpc.newBlockingStub(far);
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 6; i++) {
            long t0 = System.nanoTime();
            try {
                stub.withDeadlineAfter(10, TimeUnit.SECONDS).planPages(PageDigests.newBuilder().setMigrationId("rtt-probe").build());
            } catch (StatusRuntimeException expected) {
                // NO_SESSION: the answer is what is timed
            }
            if (i > 0) best = Math.min(best, (System.nanoTime() - t0) / 1e6); // the first one also connects
        }
        return best;
    }

    /** Median and range, e.g. {@code 12.3 [10.1..20.4]}. */
    private static String spread(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return String.format(Locale.ROOT, "%.1f [%.1f..%.1f]", median(s), s[0], s[s.length - 1]);
    }

    private static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
