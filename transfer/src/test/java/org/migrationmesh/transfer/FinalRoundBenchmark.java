package org.migrationmesh.transfer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

/**
 * Prints how long the final round of a pre-copied image takes against sending the same image
 * whole (stop-and-copy), on loopback, with a synthetic image: MB of random pages, of which a
 * given share changed after the live pages were sent. No CRIU needed; numbers only: each run's
 * times, the final round split into scan / plan (the receiver plans and lays out the pages
 * file) / upload / commit, and the medians with the final/whole ratio.
 *
 * <p>Arguments: [MB (400)] [changed per mille (3)] [directory (a temp dir)] [runs (5)]
 * [live order: {@code ascending} (as the source reads memory; the receiver's live file becomes
 * the pages file) or {@code shuffled} (held pages are copied in by the kernel)].
 */
public final class FinalRoundBenchmark {
    public static void main(String[] args) throws Exception {
        int mb = args.length > 0 ? Integer.parseInt(args[0]) : 400;
        int perMille = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Path work = args.length > 2 ? Files.createTempDirectory(Path.of(args[2]), "final-round-") : Files.createTempDirectory("final-round-");
        int runs = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        boolean shuffled = args.length > 4 && args[4].equals("shuffled");
        try {
            int pages = mb * 256;
            long base = 0x7f0000000000L;
            Path src = work.resolve("src");
            Files.createDirectories(src);
            byte[] content = new byte[pages * PageHash.PAGE_SIZE];
            Random r = new Random(1);
            r.nextBytes(content);
            long[] vaddrs = new long[pages];
            for (int p = 0; p < pages; p++) vaddrs[p] = base + (long) p * PageHash.PAGE_SIZE;
            int[] liveOrder = new int[pages];
            for (int p = 0; p < pages; p++) liveOrder[p] = p;
            if (shuffled) {
                for (int p = pages - 1; p > 0; p--) {
                    int q = r.nextInt(p + 1), t = liveOrder[p];
                    liveOrder[p] = liveOrder[q];
                    liveOrder[q] = t;
                }
            }
            Files.write(src.resolve("pagemap-1.img"), SyntheticImage.pagemap(1, new long[][] {{base, pages, PagemapImage.PE_PRESENT}}));
            byte[] core = new byte[3000];
            r.nextBytes(core);
            Files.write(src.resolve("core-1.img"), core);
            System.out.printf(Locale.ROOT, "final round of %d MB, %d per mille changed, live pages %s, %d runs%n",
                    mb, perMille, shuffled ? "shuffled" : "ascending", runs);
            double[] wholes = new double[runs], finals = new double[runs], ratios = new double[runs];
            try (TransferHarness h = TransferHarness.loopback(work.resolve("recv"))) {
                ImageSender sender = h.sender();
                for (int run = 0; run < runs; run++) {
                    Files.write(src.resolve("pages-1.img"), content);
                    long t0 = System.nanoTime();
                    TransferReport whole = sender.send("whole-" + run, 1, src, TransferOptions.defaults(), TransferListener.NONE);
                    double wholeS = (System.nanoTime() - t0) / 1e9;

                    String id = "final-" + run;
                    t0 = System.nanoTime();
                    int batch = 4096;
                    for (int first = 0; first < pages; first += batch) {
                        int n = Math.min(batch, pages - first);
                        long[] v = new long[n];
                        byte[] b = new byte[n * PageHash.PAGE_SIZE];
                        for (int i = 0; i < n; i++) {
                            int p = liveOrder[first + i];
                            v[i] = vaddrs[p];
                            System.arraycopy(content, p * PageHash.PAGE_SIZE, b, i * PageHash.PAGE_SIZE, PageHash.PAGE_SIZE);
                        }
                        sender.sendLivePages(id, "1", v, b, TransferOptions.defaults());
                    }
                    double liveS = (System.nanoTime() - t0) / 1e9;
                    byte[] changed = content.clone();
                    int dirty = pages * perMille / 1000;
                    for (int i = 0; i < dirty; i++) {
                        int p = r.nextInt(pages);
                        changed[p * PageHash.PAGE_SIZE + r.nextInt(PageHash.PAGE_SIZE)] ^= 1;
                    }
                    Files.write(src.resolve("pages-1.img"), changed);
                    t0 = System.nanoTime();
                    TransferReport fin = sender.send(id, 1, src, TransferOptions.defaults(), TransferListener.NONE);
                    double finalS = (System.nanoTime() - t0) / 1e9;
                    TransferHarness.assertSameTree(src, Path.of(fin.receiverImageDir()));
                    double scan = fin.scanning().toNanos() / 1e9, plan = fin.planning().toNanos() / 1e9,
                            commit = fin.committing().toNanos() / 1e9;
                    System.out.printf(Locale.ROOT, "run %d: whole %.3f s (%.1f MiB wire) | live %.2f s | final %.3f s "
                                    + "(scan %.3f, plan %.3f, upload %.3f, commit %.3f; %.2f MiB wire, %d pages sent) | final/whole %.3f%n",
                            run, wholeS, whole.wireBytes() / 1048576.0, liveS, finalS, scan, plan, finalS - scan - plan - commit,
                            commit, fin.wireBytes() / 1048576.0, fin.pagesSent(), finalS / wholeS);
                    wholes[run] = wholeS;
                    finals[run] = finalS;
                    ratios[run] = finalS / wholeS;
                    h.receiver.discard("whole-" + run);
                    h.receiver.discard(id);
                }
            }
            System.out.printf(Locale.ROOT, "median: whole %.3f s, final %.3f s, final/whole %.3f%n",
                    median(wholes), median(finals), median(ratios));
        } finally {
            MigrationImages.deleteTree(work);
        }
    }

    private static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
