package org.migrationmesh.transfer;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import org.migrationmesh.rpc.RpcEndpoints;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Random;

/**
 * Migrates a synthetic checkpoint image a few times between a sender and a receiver of its
 * own, over loopback gRPC, in a directory of its own: pages sent live ahead, then the final
 * round with a few pages changed. A fresh JVM runs the transfer's loops (page digests, CRCs,
 * zstd, the receiver's layout of pages files) in the interpreter at first; measured on the
 * tour, an agent's first final round took 400 ms where later ones took 80-110 ms, and that
 * time is inside a container's downtime. Run once when the agent starts, in the background.
 *
 * <p>Large rounds compile the loops; many small ones the code that runs once per round or per
 * file (planning, the Begin, the receiver's session, protobuf and gRPC): the agent's JIT (C1
 * only, see AgentMain) compiles a method after ~200 calls, which a migration's own rounds reach
 * only over many legs, each leg compiling and interpreting some of it inside the downtime.
 * Measured on the tour (19 pre-copy legs, twice each): the source's post-dump part 50 -> 41 ms,
 * the client's gap ~8-10 ms shorter, for ~1.5 s of CPU once per agent start.
 */
public final class TransferWarmUp {
    private static final long VADDR = 0x7f0000000000L;
    /** Its migrations' names: what the receiver does with them is logged at debug level only ({@link #quiet}). */
    static final String ID_PREFIX = "warm-up-";

    /** Whether {@code migrationId} is one of the warm-up's, whose receiving is logged at debug level only. */
    static boolean quiet(String migrationId) {
        return migrationId.startsWith(ID_PREFIX);
    }
    static final int LARGE_ROUNDS = 6;
    /** Past C1's threshold (200 calls) for code called once per round. */
    static final int SMALL_ROUNDS = 220;

    private TransferWarmUp() {
    }

    /** The agent's warm-up: {@value #LARGE_ROUNDS} rounds of 2048 pages, then {@value #SMALL_ROUNDS} of 16. */
    public static Duration agent(Path workDir) throws IOException {
        return run(workDir, LARGE_ROUNDS, 2048).plus(run(workDir, SMALL_ROUNDS, 16));
    }

    /**
     * Runs {@code rounds} migrations of a {@code pages}-page image under {@code workDir}, which
     * is removed afterwards; returns how long it took.
     */
    public static Duration run(Path workDir, int rounds, int pages) throws IOException {
        long t0 = System.nanoTime();
        MigrationImages.deleteTree(workDir); // left by an agent killed while warming up
        Files.createDirectories(workDir);
        ImageReceiver receiver = new ImageReceiver(workDir.resolve("incoming"));
        Server server = RpcEndpoints.startServer("127.0.0.1", 0, List.of(receiver));
        ManagedChannel channel = RpcEndpoints.channel("127.0.0.1:" + server.getPort());
        try {
            ImageSender sender = new ImageSender(channel, Clock.systemUTC());
            Random random = new Random(7);
            byte[] memory = new byte[pages * PageHash.PAGE_SIZE];
            byte[] page = new byte[PageHash.PAGE_SIZE];
            for (int p = 0; p < pages; p++) {
                // half random, a quarter text-like, a quarter zero: the kinds of pages a dump has
                if (p % 4 < 2) {
                    random.nextBytes(page);
                    System.arraycopy(page, 0, memory, p * PageHash.PAGE_SIZE, page.length);
                } else if (p % 4 == 2) {
                    java.util.Arrays.fill(memory, p * PageHash.PAGE_SIZE, (p + 1) * PageHash.PAGE_SIZE, (byte) 'x');
                }
            }
            long[] vaddrs = new long[pages];
            for (int p = 0; p < pages; p++) vaddrs[p] = VADDR + (long) p * PageHash.PAGE_SIZE;
            for (int r = 0; r < rounds; r++) {
                String id = ID_PREFIX + r;
                sender.sendLivePages(id, "1", vaddrs, memory, TransferOptions.defaults());
                long[] sent = new long[pages];
                for (int p = 0; p < pages; p++) sent[p] = PageHash.of(memory, p * PageHash.PAGE_SIZE);
                for (int k = 0; k < 8; k++) memory[random.nextInt(memory.length)] ^= 1; // a few pages changed while frozen
                Path image = workDir.resolve("image-" + r);
                writeImage(image, memory, pages, random);
                // Both ways a final round goes: in one round trip, planned by the sender from what it
                // sent live, and in two, planned by the receiver.
                DeltaPlanner.Holdings held = (key, digest) -> sent[(int) ((key.vaddr() - VADDR) / PageHash.PAGE_SIZE)] == digest;
                // the one-round-trip way after the live pages were read back, as a pre-copy's final round goes
                if (r % 2 == 0) receiver.readBackLivePages(id);
                sender.send(id, 1, image, TransferOptions.defaults(), TransferListener.NONE, r % 2 == 0 ? held : null);
                receiver.discard(id);
                MigrationImages.deleteTree(image);
            }
        } finally {
            channel.shutdownNow();
            server.shutdownNow();
            receiver.close();
            MigrationImages.deleteTree(workDir);
        }
        return Duration.ofNanos(System.nanoTime() - t0);
    }

    /** A CRIU-format image directory: one process's pagemap and pages, a core and an inventory file. */
    private static void writeImage(Path dir, byte[] memory, int pages, Random random) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve("pagemap-1.img"), PagemapImage.encode(1, new long[][] {{VADDR, pages, PagemapImage.PE_PRESENT}}));
        Files.write(dir.resolve("pages-1.img"), memory);
        byte[] core = new byte[8192];
        random.nextBytes(core);
        Files.write(dir.resolve("core-1.img"), core);
        Files.write(dir.resolve("inventory.img"), "inventory".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
