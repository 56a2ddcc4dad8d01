package org.migrationmesh.agent.migration;

import org.migrationmesh.agent.host.ContainerHost;
import org.migrationmesh.agent.runtime.LiveMemory;
import org.migrationmesh.cluster.ClusterNode;
import org.migrationmesh.cluster.Commands;
import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.Migration;
import org.migrationmesh.transfer.DeltaPlanner;
import org.migrationmesh.transfer.HeldPages;
import org.migrationmesh.transfer.ImageSender;
import org.migrationmesh.transfer.PageHash;
import org.migrationmesh.transfer.PageRuns;
import org.migrationmesh.transfer.TransferOptions;
import org.migrationmesh.transfer.lazy.PreCopiedPages;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.zip.CRC32C;

/**
 * Pre-copy without kernel dirty tracking: while the container runs, its memory is read live
 * (pagemap + /proc/PID/mem) and sent to the destination's page store, keyed by the pid the
 * images will use and the address. Later rounds send only pages whose content changed since
 * the last round (a CRC32C per page remembers what was sent; a collision only costs the final
 * dump's transfer a page, which compares by SHA-256-backed content). {@link PreCopyPlan}
 * decides when to stop. Each round is a replicated COPY entry with the bytes it sent.
 */
final class PreCopyRounds {
    private static final Logger log = LoggerFactory.getLogger(PreCopyRounds.class);
    private static final int BATCH_PAGES = 4096; // 16 MiB per live-pages call
    /** Between the two looks for hot pages: more than a frame of a game server at 20 frames a second. */
    private static final long LOOKS_APART_MS = 80;

    private final Migration migration;
    private final Container container;
    private final ContainerHost host;
    private final ImageSender sender;
    private final ClusterNode node;
    private final Map<String, Map<Long, Integer>> sent = new HashMap<>();
    /** The transfer's content digest ({@link PageHash}) of each page sent, by space and address: what the destination holds. */
    private final Map<String, Map<Long, Long>> sentDigests = new HashMap<>();
    private final List<Long> roundBytes = new ArrayList<>();
    private List<Integer> lastPids = List.of();
    /** What the destination holds from the parent image it kept of the container (it was here before). */
    private HeldPages held = HeldPages.NONE;
    /** Pages the rounds left out because the destination held them from its parent image. */
    private long parentPages;
    /** Pages rewritten all the time, by space ({@link HotPages}): the rounds leave them for the final image. */
    private Map<String, java.util.Set<Long>> hot = Map.of();
    private long hotPagesLeft;
    private volatile CompletableFuture<?> frozenRound = CompletableFuture.completedFuture(null);
    /** {@link #sentDigests} as they were when the frozen round started, if it did. */
    private volatile Map<String, Map<Long, Long>> digestsBeforeFrozenRound;
    /** Per space, the pages the destination acknowledged holding as the frozen process has them. */
    private final Map<String, java.util.Set<Long>> frozenMarked = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Bytes on the wire besides the rounds' pages: which pages the destination holds from before
     * (its answer carries their digests) and, without rounds, where its pages go.
     */
    private long aheadBytes;

    /** {@link #aheadBytes}: counted with the migration's bytes on the wire, as rsync's --stats counts both ways. */
    long aheadBytes() {
        return aheadBytes;
    }

    PreCopyRounds(Migration migration, Container container, ContainerHost host, ImageSender sender, ClusterNode node) {
        this.migration = migration;
        this.container = container;
        this.host = host;
        this.sender = sender;
        this.node = node;
    }

    void run() throws IOException {
        String modeText = migration.getOptions().getPreCopy().isEmpty() ? "off" : migration.getOptions().getPreCopy();
        PreCopyPlan plan = new PreCopyPlan(PreCopyPlan.Mode.parse(modeText),
                Duration.ofMillis(Math.max(1, migration.getOptions().getMaxDowntimeMs())), Duration.ofMillis(300));
        PreCopyPlan.Decision d = plan.first();
        held = heldByDestination(d.copyAgain());
        aheadBytes += held.wireBytes();
        if (!d.copyAgain() && held.pages() > 0) layOutParentAhead();
        long roundTrip = d.copyAgain() ? roundTrip() : 0;
        if (d.copyAgain()) hot = hotPages();
        List<PreCopyPlan.Round> done = new ArrayList<>();
        double bytesPerSecond = 0;
        while (d.copyAgain()) {
            long t0 = System.nanoTime();
            lastPids = host.runtime().runc().ps(container.getId());
            long[] bytesAndPages = round(lastPids, false);
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            roundBytes.add(bytesAndPages[0]);
            done.add(new PreCopyPlan.Round(bytesAndPages[0], took));
            // The link's rate is what the fastest round's sending achieved (its calls, not its reading of
            // memory, and not the round trip each call waits: see PreCopyPlan.linkRate): taken over a whole
            // round, a round that is mostly memory reading and round trips predicted a final transfer several
            // times too long, which on a WAN bought more rounds sending the same working set again (~50 KB each).
            bytesPerSecond = Math.max(bytesPerSecond,
                    PreCopyPlan.linkRate(bytesAndPages[0], bytesAndPages[2], (int) bytesAndPages[3], roundTrip));
            // in order with FREEZE and RESTORE, which follow the last round (awaitCommits): no round trip to
            // the leader between a round and the next, or the freeze
            commits.add(node.submitAsync(Commands.copyRound(migration.getId(), migration.getEpoch(), bytesAndPages[0],
                    bytesAndPages[1])));
            d = plan.next(done, bytesPerSecond);
            if (plan.probesAfter(done, d)) {
                long p0 = System.nanoTime();
                long changed = probe(lastPids);
                PreCopyPlan.Decision afterProbe = plan.afterProbe(
                        new PreCopyPlan.Round(changed, Duration.ofNanos(System.nanoTime() - p0)), bytesPerSecond);
                log.info("pre-copy probe migration={} changedBytes={} ms={} next={} because={}", migration.getId(), changed,
                        (System.nanoTime() - p0) / 1_000_000, afterProbe.copyAgain() ? "copy" : "freeze", afterProbe.reason());
                if (!afterProbe.copyAgain()) d = afterProbe;
                // Counted as a round that sent what changed, the next round must send clearly less than the
                // probe found, or it shows the working set rewritten as fast as it is copied: then freeze.
                else done.add(new PreCopyPlan.Round(changed, Duration.ofNanos(System.nanoTime() - p0), true));
            }
            log.info("pre-copy round migration={} round={} pages={} bytes={} heldFromParent={} hotLeft={} ms={} next={} because={}",
                    migration.getId(), roundBytes.size(), bytesAndPages[1], bytesAndPages[0], parentPages, hotPagesLeft,
                    took.toMillis(), d.copyAgain() ? "copy" : "freeze", d.reason());
        }
    }

    /**
     * Without rounds (stop-and-copy) to a destination that kept the container's last image: tells
     * it where each page of the coming dump will lie (addresses only, read from the page tables),
     * so that it lays the pages it holds out in that order before the freeze, and the dump's pages
     * file is then its file in place, patched where pages changed, instead of a copy of ~all the
     * memory made inside the freeze. Not knowing only costs that copy.
     */
    private void layOutParentAhead() {
        long t0 = System.nanoTime();
        try {
            long pages = 0;
            for (int pid : host.runtime().runc().ps(container.getId())) {
                long[] addresses = LiveMemory.addresses(pid);
                String space = Integer.toString(LiveMemory.namespacePid(pid));
                aheadBytes += sender.sendLivePages(migration.getId(), space, new long[0], new byte[0], null, addresses, null,
                        TransferOptions.defaults()).wireBytes();
                pages += addresses.length;
            }
            log.info("destination laid its pages out ahead of the dump migration={} pages={} ms={}", migration.getId(), pages,
                    (System.nanoTime() - t0) / 1_000_000);
        } catch (IOException | RuntimeException e) {
            log.warn("destination's pages not laid out ahead; its final image copies them migration={} destination={} reason={}",
                    migration.getId(), migration.getDestination(), e.getMessage());
        }
    }

    /**
     * Looks at the container's memory {@value HotPages#LOOKS} times, {@value #LOOKS_APART_MS} ms
     * apart, for the pages it rewrites all the time ({@link HotPages}); not at a memory larger than
     * {@value HotPages#MAX_LOOK_PAGES} pages (reading it again and again would cost more than the
     * few pages it could save). Not knowing only costs bytes: the rounds then send them.
     */
    private Map<String, java.util.Set<Long>> hotPages() {
        long t0 = System.nanoTime();
        try {
            List<Integer> pids = host.runtime().runc().ps(container.getId());
            List<Map<String, Map<Long, Integer>>> looks = new ArrayList<>();
            looks.add(look(pids));
            int pages = looks.get(0).values().stream().mapToInt(Map::size).sum();
            if (pages > HotPages.MAX_LOOK_PAGES) {
                log.info("no look for hot pages migration={} pages={} (more than {})", migration.getId(), pages,
                        HotPages.MAX_LOOK_PAGES);
                return Map.of();
            }
            while (looks.size() < HotPages.LOOKS) {
                Thread.sleep(LOOKS_APART_MS);
                looks.add(look(pids));
            }
            Map<String, java.util.Set<Long>> found = HotPages.changedInEach(looks, HotPages.MAX_PAGES);
            log.info("hot pages left for the final image migration={} pages={} ms={}", migration.getId(),
                    found.values().stream().mapToInt(java.util.Set::size).sum(), (System.nanoTime() - t0) / 1_000_000);
            return found;
        } catch (IOException | RuntimeException e) {
            log.warn("hot pages not known; the rounds send them migration={} reason={}", migration.getId(), e.getMessage());
            return Map.of();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Map.of();
        }
    }

    /** The CRC32C of every page a dump of these processes would write, by space and address. */
    private static Map<String, Map<Long, Integer>> look(List<Integer> pids) throws IOException {
        Map<String, Map<Long, Integer>> out = new HashMap<>();
        CRC32C crc = new CRC32C();
        byte[] page = new byte[LiveMemory.PAGE_SIZE];
        for (int pid : pids) {
            Map<Long, Integer> crcs = new HashMap<>();
            LiveMemory.read(pid, (vaddr, content) -> {
                for (long a = vaddr; content.hasRemaining(); a += LiveMemory.PAGE_SIZE) {
                    content.get(page);
                    crc.reset();
                    crc.update(page);
                    crcs.put(a, (int) crc.getValue());
                }
            });
            out.put(Integer.toString(LiveMemory.namespacePid(pid)), crcs);
        }
        return out;
    }

    /** The link's round trip to the destination in ns, 0 if not known (then rates count it in, as before). */
    private long roundTrip() {
        try {
            long rtt = sender.roundTrip(migration.getId(), 2, TransferOptions.defaults()).toNanos();
            log.info("round trip to the destination migration={} destination={} us={}", migration.getId(),
                    migration.getDestination(), rtt / 1000);
            return rtt;
        } catch (RuntimeException e) {
            log.warn("round trip to the destination not known; rates count it in migration={} destination={} reason={}",
                    migration.getId(), migration.getDestination(), e.getMessage());
            return 0;
        }
    }

    /**
     * Has the destination start from the parent image it kept of the container, if any (its
     * final image's plans then count those pages as held), and learns which pages that gives it
     * when rounds will run. Not knowing only costs bytes: the rounds then send every page.
     */
    private HeldPages heldByDestination(boolean rounds) {
        long t0 = System.nanoTime();
        try {
            HeldPages h = sender.heldPages(migration.getId(), container.getId(), rounds, TransferOptions.defaults());
            log.info("destination holds pages of the container from before migration={} pages={} ms={}", migration.getId(),
                    h.pages(), (System.nanoTime() - t0) / 1_000_000);
            return h;
        } catch (RuntimeException e) {
            log.warn("destination's pages from before not known; pre-copy sends every page migration={} destination={}"
                    + " reason={}", migration.getId(), migration.getDestination(), e.getMessage());
            return HeldPages.NONE;
        }
    }

    /** The COPY entries of the rounds, sent without waiting. */
    private final List<CompletableFuture<org.migrationmesh.proto.cluster.CommandResult>> commits = new ArrayList<>();

    /** Waits for the rounds' COPY entries; throws as a refused or failed commit would have. */
    void awaitCommits() {
        for (var c : commits) org.migrationmesh.cluster.ClusterClient.await(c);
    }

    /** Bytes each round put on the wire (compressed pages and their addresses), in order. */
    List<Long> roundBytes() {
        return roundBytes;
    }

    /**
     * What the rounds sent, for post-copy after pre-copy: a page the lazy dump serves is one the
     * destination holds if its CRC32C is that of the content sent last (the destination checks
     * the page's digest against its copy, so a collision costs a fault over the link, no more).
     */
    PreCopiedPages sentPages() {
        CompletableFuture<?> frozen = frozenRound;
        return new PreCopiedPages() {
            @Override
            public boolean sentUnchanged(long pid, long vaddr, byte[] page, int off) {
                frozen.join(); // what the rounds sent is final, and safe to read, once the frozen round ended
                Map<Long, Integer> known = sent.get(Long.toString(pid));
                Integer crc = known == null ? null : known.get(vaddr);
                if (crc == null) return false;
                CRC32C c = new CRC32C();
                c.update(page, off, LiveMemory.PAGE_SIZE);
                return crc == (int) c.getValue();
            }

            @Override
            public boolean markedFrozen(long pid, long vaddr) {
                frozen.join();
                java.util.Set<Long> marked = frozenMarked.get(Long.toString(pid));
                return marked != null && marked.contains(vaddr);
            }
        };
    }

    /**
     * What the destination holds, as far as the rounds know: the page they sent last at each
     * address, by its content digest. The final image's send plans with it, and so sends its
     * whole round with the Begin (one round trip); should the destination hold otherwise, it
     * plans for itself and the round takes two. With a frozen round under way it counts only
     * what the rounds before it sent: whether the frozen round's pages are there when the final
     * image arrives is a race, and a page counted as missing that is there costs bytes, while
     * one counted as held that is not costs the second round trip.
     */
    DeltaPlanner.Holdings destinationHolds() {
        Map<String, Map<Long, Long>> sentAhead = digestsBeforeFrozenRound != null ? digestsBeforeFrozenRound : sentDigests;
        return (key, digest) -> {
            Map<Long, Long> known = sentAhead.get(key.space());
            Long held = known == null ? null : known.get(key.vaddr());
            return held != null && held == digest;
        };
    }

    /**
     * Starts a last round while the lazy dump holds the container frozen: what it reads is what
     * the dump's page server will serve, and what changed since the last round goes now over the
     * image channel, whose connection is up to speed, rather than later as pushed pages over the
     * relay's new connection (still in TCP slow start when the restore faults). Returns {bytes on
     * the wire, pages sent}; {@link #sentPages()} waits for it. A failed frozen round only costs
     * pages sent again through the relay.
     */
    CompletableFuture<long[]> startFrozenRound(Executor executor) {
        List<Integer> pids = lastPids;
        Map<String, Map<Long, Long>> before = new HashMap<>();
        sentDigests.forEach((space, digests) -> before.put(space, new HashMap<>(digests)));
        digestsBeforeFrozenRound = before;
        CompletableFuture<long[]> round = CompletableFuture.supplyAsync(() -> {
            try {
                return round(pids, true);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, executor);
        // The relay tells the destination it holds a page the frozen round sent only once the round
        // has ended: told while the page is still on its way, the destination would ask for it over
        // the link (measured: the return leg of a tour went from ~750 to ~1000 ms), and the pages
        // that changed last are those the restored process touches first.
        frozenRound = round.handle((r, e) -> null);
        return round;
    }

    /**
     * One round over the given processes of the container; returns {bytes on the wire, pages
     * sent, nanoseconds spent sending, calls made}. A round read while the process is {@code frozen} compares every page by its digest
     * with what the destination holds and ends, per process, with the mark that the destination
     * now holds every page read as the frozen process has it.
     */
    private long[] round(List<Integer> pids, boolean frozen) throws IOException {
        long bytes = 0;
        long pages = 0;
        long sending = 0;
        long calls = 0;
        for (int pid : pids) {
            String space = Integer.toString(LiveMemory.namespacePid(pid));
            Map<Long, Integer> known = sent.computeIfAbsent(space, k -> new HashMap<>());
            Map<Long, Long> digests = sentDigests.computeIfAbsent(space, k -> new HashMap<>());
            Batch batch = new Batch(space);
            CRC32C crc = new CRC32C();
            byte[] page = new byte[LiveMemory.PAGE_SIZE];
            boolean parent = held.any(space);
            // hot pages go with the final image (or the frozen round); the first round keeps their places
            java.util.Set<Long> hotHere = frozen ? java.util.Set.of() : hot.getOrDefault(space, java.util.Set.of());
            boolean placing = known.isEmpty();
            PageRuns.Builder read = new PageRuns.Builder(); // what the frozen round read
            LiveMemory.read(pid, (vaddr, content) -> {
                if (frozen) {
                    read.add(vaddr, content.remaining() / LiveMemory.PAGE_SIZE);
                    for (long a = vaddr; content.hasRemaining(); a += LiveMemory.PAGE_SIZE) {
                        content.get(page);
                        long digest = PageHash.of(page, 0);
                        Long there = digests.get(a);
                        if (there != null && there == digest) continue;
                        batch.add(a, page);
                        digests.put(a, digest);
                        crc.reset();
                        crc.update(page);
                        known.put(a, (int) crc.getValue());
                    }
                    return;
                }
                for (long a = vaddr; content.hasRemaining(); a += LiveMemory.PAGE_SIZE) {
                    content.get(page);
                    if (hotHere.contains(a)) {
                        if (placing) batch.keepBack(a);
                        continue;
                    }
                    crc.reset();
                    crc.update(page);
                    int sum = (int) crc.getValue();
                    Integer before = known.put(a, sum);
                    if (before != null && before == sum) continue; // unchanged CRC: unchanged page, same digest
                    long digest = PageHash.of(page, 0);
                    digests.put(a, digest);
                    if (before == null && parent && held.holds(space, a, digest)) { // the destination has it from its parent image
                        parentPages++;
                        batch.hold(a, digest);
                        continue;
                    }
                    batch.add(a, page);
                }
            });
            if (frozen) {
                PageRuns.Runs runs = read.build();
                batch.flush(runs);
                java.util.Set<Long> marked = new java.util.HashSet<>();
                for (long a : runs.addresses()) marked.add(a);
                frozenMarked.put(space, marked);
            } else {
                batch.flush(null);
            }
            bytes += batch.bytes;
            pages += batch.pages;
            sending += batch.sendingNanos;
            calls += batch.calls;
        }
        return new long[] {bytes, pages, sending, calls};
    }

    /**
     * Reads the container's memory as a round would and returns the bytes on the wire the pages
     * that changed since the last round would cost (compressed as the final image compresses
     * them), sending nothing and leaving what the rounds know as it was.
     */
    private long probe(List<Integer> pids) throws IOException {
        long bytes = 0;
        for (int pid : pids) {
            String space = Integer.toString(LiveMemory.namespacePid(pid));
            Map<Long, Integer> known = sent.getOrDefault(space, Map.of());
            CRC32C crc = new CRC32C();
            byte[] page = new byte[LiveMemory.PAGE_SIZE];
            java.io.ByteArrayOutputStream changed = new java.io.ByteArrayOutputStream();
            long[] wire = {0};
            LiveMemory.read(pid, (vaddr, content) -> {
                for (long a = vaddr; content.hasRemaining(); a += LiveMemory.PAGE_SIZE) {
                    content.get(page);
                    crc.reset();
                    crc.update(page);
                    Integer before = known.get(a);
                    if (before != null && before == (int) crc.getValue()) continue;
                    changed.write(page, 0, page.length);
                    if (changed.size() >= (1 << 20)) wire[0] += compressedSize(changed);
                }
            });
            bytes += wire[0] + compressedSize(changed);
        }
        return bytes;
    }

    /** What {@code pages} cost compressed as a chunk of the final image; empties it. */
    private static long compressedSize(java.io.ByteArrayOutputStream pages) {
        if (pages.size() == 0) return 0;
        byte[] raw = pages.toByteArray();
        pages.reset();
        return org.migrationmesh.transfer.ChunkCodec.encode(raw, 0, raw.length, true).bytes().size()
                + (long) raw.length / LiveMemory.PAGE_SIZE * 8; // and the page's digest
    }

    /** Pages of one address space waiting to be sent, flushed every {@value #BATCH_PAGES} pages. */
    private final class Batch {
        private final String space;
        private final long[] vaddrs = new long[BATCH_PAGES];
        private final ByteBuffer data = ByteBuffer.allocate(BATCH_PAGES * LiveMemory.PAGE_SIZE);
        private int n;
        /** Pages left out because the destination holds them from its parent image, in address order among the others. */
        private long[] heldVaddrs = new long[64];
        private long[] heldDigests = new long[64];
        private int held;
        /** Hot pages left for the final image, in address order among the others: their places go with the stream. */
        private long[] hotVaddrs = new long[64];
        private int hotLeft;
        long bytes;
        long pages;
        long sendingNanos;
        long calls;

        Batch(String space) {
            this.space = space;
        }

        void add(long vaddr, byte[] page) {
            vaddrs[n++] = vaddr;
            data.put(page);
            if (n == BATCH_PAGES) flush(null);
        }

        /**
         * Notes a page left out because the destination holds it (by the low bits of {@code digest}, the
         * whole of which goes along for the destination to check its copy): it puts it in its live file among
         * those sent, so that the file lies as the final dump's pages file will, and a revisit's final
         * image takes it in place instead of copying the parent image's pages into a new file.
         */
        void hold(long vaddr, long digest) {
            if (held == heldVaddrs.length) {
                heldVaddrs = java.util.Arrays.copyOf(heldVaddrs, held * 2);
                heldDigests = java.util.Arrays.copyOf(heldDigests, held * 2);
            }
            heldVaddrs[held] = vaddr;
            heldDigests[held++] = digest;
        }

        /** Notes a hot page left for the final image: the destination keeps its place in its live file. */
        void keepBack(long vaddr) {
            if (hotLeft == hotVaddrs.length) hotVaddrs = java.util.Arrays.copyOf(hotVaddrs, hotLeft * 2);
            hotVaddrs[hotLeft++] = vaddr;
            hotPagesLeft++;
        }

        /** Sends what is waiting, then {@code frozenMark} if not null (see {@link ImageSender#sendLivePages}). */
        void flush(PageRuns.Runs frozenMark) {
            if (n == 0 && held == 0 && hotLeft == 0 && frozenMark == null) return;
            byte[] payload = n == BATCH_PAGES ? data.array() : java.util.Arrays.copyOf(data.array(), n * LiveMemory.PAGE_SIZE);
            long t0 = System.nanoTime();
            bytes += sender.sendLivePages(migration.getId(), space, java.util.Arrays.copyOf(vaddrs, n), payload, frozenMark,
                    java.util.Arrays.copyOf(heldVaddrs, held), java.util.Arrays.copyOf(heldDigests, held),
                    java.util.Arrays.copyOf(hotVaddrs, hotLeft), TransferOptions.defaults()).wireBytes();
            held = 0;
            hotLeft = 0;
            sendingNanos += System.nanoTime() - t0;
            calls++;
            pages += n;
            n = 0;
            data.clear();
        }
    }
}
