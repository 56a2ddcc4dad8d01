package org.migrationmesh.transfer;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.migrationmesh.proto.transfer.Chunk;
import org.migrationmesh.proto.transfer.ImageTransferGrpc;
import org.migrationmesh.proto.transfer.UploadAck;
import org.migrationmesh.rpc.RpcEndpoints;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Prints, in one run on loopback, with real CRIU images of the memhog workload:
 * <ol>
 *   <li>throughput of sending a 1 GiB image vs a raw TCP copy of the same files (ratio);</li>
 *   <li>bytes on the wire of the second round of a 400 MB workload vs the truly changed pages,
 *       vs the full image and vs {@code rsync -z} (through an rsync daemon on 127.0.0.1) of the
 *       same two rounds.</li>
 * </ol>
 * Needs root, CRIU and rsync. Arguments: [throughput MB (1024)] [delta MB (400)] [seconds between dumps (6)].
 * No assertions: numbers only.
 */
public final class TransferBenchmark {
    private static final double MIB = 1024.0 * 1024.0;
    private static final double GIB = 1024.0 * MIB;
    private static final int RUNS = 5;
    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    public static void main(String[] args) throws Exception {
        int bigMb = args.length > 0 ? Integer.parseInt(args[0]) : 1024;
        int deltaMb = args.length > 1 ? Integer.parseInt(args[1]) : 400;
        int gapSeconds = args.length > 2 ? Integer.parseInt(args[2]) : 6;
        Path work = Files.createTempDirectory("transfer-bench-");
        try {
            Path memhog = RealCheckpoints.buildMemhog(work.resolve("bin"));
            throughput(work, memhog, bigMb);
            if (deltaMb > 0) delta(work, memhog, deltaMb, gapSeconds); // 0: throughput only
        } finally {
            MigrationImages.deleteTree(work);
        }
    }

    private static void throughput(Path work, Path memhog, int mb) throws Exception {
        Path image = work.resolve("big");
        try (RealCheckpoints p = RealCheckpoints.start(memhog, mb, 0)) {
            p.dump(image);
        }
        long bytes = dirBytes(image);
        System.out.printf(Locale.ROOT, "throughput: image of memhog %d MB = %.1f MiB in %d files%n", mb, bytes / MIB, fileCount(image));
        // Both copies land on tmpfs when there is one, so disk writeback (shared with other work on
        // the host) does not decide the ratio; every timed copy starts after a sync.
        Path shm = Path.of("/dev/shm");
        Path dstRoot = Files.isWritable(shm) ? Files.createTempDirectory(shm, "transfer-bench-") : work;
        System.out.printf(Locale.ROOT, "  destinations under %s%n", dstRoot);
        double bestRaw = 0, bestOurs = 0, bestGrpc = 0;
        double[] leastCpu = {Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE};
        try {
            for (int run = 1; run <= RUNS; run++) {
                double[] r = throughputRun(image, dstRoot, bytes, run);
                bestRaw = Math.max(bestRaw, r[0]);
                bestGrpc = Math.max(bestGrpc, r[1]);
                bestOurs = Math.max(bestOurs, r[2]);
                for (int k = 0; k < 3; k++) leastCpu[k] = Math.min(leastCpu[k], r[3 + k]);
            }
        } finally {
            if (!dstRoot.equals(work)) MigrationImages.deleteTree(dstRoot);
        }
        double sha = sha256CpuSecondsPerGib();
        int cores = Runtime.getRuntime().availableProcessors();
        // What two SHA-256 passes (one per end) over every byte would allow, for comparison: plain files
        // still take them; a pages file laid out by its pagemap is checked by CRC32C and page digests instead.
        double shaCeiling = cores / (2 * sha) * GIB;
        System.out.printf(Locale.ROOT, "  CPU seconds per GiB (both ends, least of %d runs): raw TCP %.2f, bare gRPC %.2f, image transfer %.2f; "
                        + "SHA-256 alone %.2f per end (%.0f MiB/s on one core)%n",
                RUNS, leastCpu[0], leastCpu[1], leastCpu[2], sha, 1 / sha * 1024);
        System.out.printf(Locale.ROOT, "  ceilings on %d cores: two SHA-256 passes alone would allow %.0f MiB/s = %.2f of raw TCP; "
                        + "the image transfer's CPU per GiB allows %.0f MiB/s = %.2f%n",
                cores, shaCeiling / MIB, shaCeiling / bestRaw, cores / leastCpu[2] * 1024, cores / leastCpu[2] * GIB / bestRaw);
        System.out.printf(Locale.ROOT, "RESULT throughput: image transfer %.0f MiB/s / raw TCP %.0f MiB/s = ratio %.2f (goal >= 0.8)%n",
                bestOurs / MIB, bestRaw / MIB, bestOurs / bestRaw);
        System.out.printf(Locale.ROOT, "RESULT throughput baseline: bare gRPC (same chunks, no checks, no disk) %.0f MiB/s = ratio %.2f of raw TCP%n",
                bestGrpc / MIB, bestGrpc / bestRaw);
        MigrationImages.deleteTree(image);
    }

    /**
     * One run: raw TCP copy, bare gRPC, image transfer; returns their bytes per second, then the
     * CPU seconds per GiB this process (both ends) spent on each.
     */
    private static double[] throughputRun(Path image, Path dstRoot, long bytes, int run) throws Exception {
        Path rawDst = dstRoot.resolve("raw-" + run);
        sync();
        long c0 = OS.getProcessCpuTime();
        long t0 = System.nanoTime();
        rawTcpCopy(image, rawDst);
        double raw = bytes / ((System.nanoTime() - t0) / 1e9);
        double rawCpu = (OS.getProcessCpuTime() - c0) / 1e9 / (bytes / GIB);
        MigrationImages.deleteTree(rawDst);
        c0 = OS.getProcessCpuTime();
        double grpc = plainGrpcStream(bytes);
        double grpcCpu = (OS.getProcessCpuTime() - c0) / 1e9 / (bytes / GIB);
        TransferReport r;
        sync();
        double oursCpu;
        try (TransferHarness h = TransferHarness.loopback(dstRoot.resolve("recv-" + run))) {
            c0 = OS.getProcessCpuTime();
            r = h.sender().send("bench-" + UUID.randomUUID(), 1, image, TransferOptions.defaults(), TransferListener.NONE);
            oursCpu = (OS.getProcessCpuTime() - c0) / 1e9 / (bytes / GIB);
        }
        MigrationImages.deleteTree(dstRoot.resolve("recv-" + run));
        double ours = r.throughput();
        System.out.printf(Locale.ROOT, "  run %d: raw TCP copy %.0f MiB/s, bare gRPC stream %.0f MiB/s, image transfer %.0f MiB/s "
                        + "(wire %.1f MiB, %d pages, %d zero), ratio %.2f; CPU s/GiB %.2f, %.2f, %.2f%n",
                run, raw / MIB, grpc / MIB, ours / MIB, r.wireBytes() / MIB, r.pages(), r.pagesZero(), ours / raw,
                rawCpu, grpcCpu, oursCpu);
        return new double[] {raw, grpc, ours, rawCpu, grpcCpu, oursCpu};
    }

    /** CPU seconds one core spends on SHA-256 per GiB (1 MiB updates, as the transfer does), best of 3. */
    private static double sha256CpuSecondsPerGib() {
        byte[] buf = new byte[1 << 20];
        new java.util.Random(3).nextBytes(buf);
        double best = Double.MAX_VALUE;
        for (int rep = 0; rep < 3; rep++) {
            java.security.MessageDigest md = ReceiveSession.sha256();
            long t0 = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
            for (int i = 0; i < 1024; i++) md.update(buf);
            md.digest();
            best = Math.min(best, (java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - t0) / 1e9);
        }
        return best;
    }

    private static void sync() throws Exception {
        new ProcessBuilder("sync").inheritIO().start().waitFor();
    }

    private static void delta(Path work, Path memhog, int mb, int gapSeconds) throws Exception {
        Path r1 = work.resolve("round1");
        Path r2 = work.resolve("round2");
        try (RealCheckpoints p = RealCheckpoints.start(memhog, mb, 256)) {
            p.dump(r1);
            Thread.sleep(gapSeconds * 1000L);
            p.dump(r2);
        }
        long changed = RealCheckpoints.changedPages(r1, r2);
        long changedBytes = changed * PageHash.PAGE_SIZE;
        long full = dirBytes(r2);
        TransferReport t1, t2;
        try (TransferHarness h = TransferHarness.loopback(work.resolve("recv-delta"))) {
            String m = "bench-" + UUID.randomUUID();
            t1 = h.sender().send(m, 1, r1, TransferOptions.defaults(), TransferListener.NONE);
            t2 = h.sender().send(m, 2, r2, TransferOptions.defaults(), TransferListener.NONE);
        }
        long rsync = rsyncSecondRound(work, r1, r2);
        System.out.printf(Locale.ROOT, "delta: memhog %d MB dirtying 256 pages/s, dumps %d s apart; image %.1f MiB, %d pages changed at the same address (%.2f MiB, %.2f%%)%n",
                mb, gapSeconds, full / MIB, changed, changedBytes / MIB, 100.0 * changed / t2.pages());
        System.out.printf(Locale.ROOT, "  round 1: wire %.1f MiB in %.2f s; round 2: wire %.2f MiB in %.2f s, pages sent %d, unchanged %d, zero %d, duplicate %d%n",
                t1.wireBytes() / MIB, t1.elapsed().toNanos() / 1e9, t2.wireBytes() / MIB, t2.elapsed().toNanos() / 1e9,
                t2.pagesSent(), t2.pagesUnchanged(), t2.pagesZero(), t2.pagesDuplicate());
        System.out.printf(Locale.ROOT, "  rsync -z (daemon on 127.0.0.1) of round 2 onto round 1: %.2f MiB sent+received%n", rsync / MIB);
        System.out.printf(Locale.ROOT, "RESULT delta: round 2 wire = %.2fx changed pages (goal <= 1.2), %.4fx full image, %.3fx rsync -z (goal < 1)%n",
                (double) t2.wireBytes() / changedBytes, (double) t2.wireBytes() / full, (double) t2.wireBytes() / rsync);
    }

    /** rsync round 1, then round 2 onto it, through an rsync daemon on loopback; bytes of the second run. */
    private static long rsyncSecondRound(Path work, Path r1, Path r2) throws Exception {
        Path dst = work.resolve("rsync-dst");
        Files.createDirectories(dst);
        int port;
        try (ServerSocketChannel probe = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            port = ((InetSocketAddress) probe.getLocalAddress()).getPort();
        }
        Path conf = work.resolve("rsyncd.conf");
        Files.writeString(conf, "use chroot = no\nuid = root\ngid = root\npid file = " + work.resolve("rsyncd.pid")
                + "\n[images]\npath = " + dst + "\nread only = no\n");
        Process daemon = new ProcessBuilder("rsync", "--daemon", "--no-detach", "--address=127.0.0.1", "--port=" + port,
                "--config=" + conf).redirectErrorStream(true).redirectOutput(work.resolve("rsyncd.log").toFile()).start();
        try {
            Thread.sleep(500);
            String url = "rsync://127.0.0.1:" + port + "/images/";
            rsync(r1, url);
            return rsync(r2, url);
        } finally {
            daemon.destroy();
            daemon.waitFor(5, TimeUnit.SECONDS);
            MigrationImages.deleteTree(dst);
        }
    }

    private static long rsync(Path src, String url) throws Exception {
        Process p = new ProcessBuilder("rsync", "-a", "-z", "--stats", src + "/", url).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) throw new IllegalStateException("rsync failed: " + out);
        return stat(out, "Total bytes sent") + stat(out, "Total bytes received");
    }

    private static long stat(String out, String name) {
        Matcher m = Pattern.compile(name + ": ([0-9,.]+)").matcher(out);
        if (!m.find()) throw new IllegalStateException("no '" + name + "' in rsync --stats: " + out);
        return Long.parseLong(m.group(1).replaceAll("[,.]", ""));
    }

    /**
     * Diagnostic baseline: the same number of bytes as 1 MiB chunks over a gRPC Upload stream with
     * the same flow control, to a service that only counts them (no checks, no files).
     */
    private static double plainGrpcStream(long bytes) throws Exception {
        ImageTransferGrpc.ImageTransferImplBase counter = new ImageTransferGrpc.ImageTransferImplBase() {
            @Override
            public StreamObserver<Chunk> upload(StreamObserver<UploadAck> responses) {
                ServerCallStreamObserver<UploadAck> call = (ServerCallStreamObserver<UploadAck>) responses;
                call.disableAutoRequest();
                call.request(1);
                return new StreamObserver<>() {
                    private long n;

                    @Override
                    public void onNext(Chunk c) {
                        n += c.getPayload().size();
                        call.request(1);
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                        responses.onNext(UploadAck.newBuilder().setBytes(n).build());
                        responses.onCompleted();
                    }
                };
            }
        };
        Server server = RpcEndpoints.startServer("127.0.0.1", 0, List.of(counter));
        ManagedChannel channel = RpcEndpoints.channel("127.0.0.1:" + server.getPort());
        try {
            byte[] chunk = new byte[1 << 20];
            new java.util.Random(1).nextBytes(chunk);
            Chunk msg = Chunk.newBuilder().setLength(chunk.length).setPayload(ByteString.copyFrom(chunk)).build();
            long t0 = System.nanoTime();
            FlowControlledUpload<Chunk, UploadAck> up = new FlowControlledUpload<>(
                    ImageTransferGrpc.newStub(channel).withOnReadyThreshold(2 * ChunkCodec.MAX_CHUNK_BYTES)::upload);
            for (long sent = 0; sent < bytes; sent += chunk.length) up.send(msg);
            up.finish(10, TimeUnit.MINUTES);
            return bytes / ((System.nanoTime() - t0) / 1e9);
        } catch (Throwable t) {
            throw new IllegalStateException("bare gRPC stream failed", t);
        } finally {
            channel.shutdownNow();
            server.shutdownNow();
        }
    }

    /** Raw TCP baseline: every file's bytes through one loopback socket into files, 1 MiB buffers. */
    private static void rawTcpCopy(Path src, Path dst) throws Exception {
        Files.createDirectories(dst);
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            CompletableFuture<Void> receiver = CompletableFuture.runAsync(() -> {
                try (SocketChannel s = server.accept()) {
                    DataInputStream in = new DataInputStream(Channels.newInputStream(s));
                    ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
                    while (true) {
                        String name = in.readUTF();
                        if (name.isEmpty()) return;
                        long left = in.readLong();
                        try (FileChannel out = FileChannel.open(dst.resolve(name), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                            while (left > 0) {
                                buf.clear().limit((int) Math.min(buf.capacity(), left));
                                int n = s.read(buf);
                                if (n < 0) throw new IOException("eof");
                                buf.flip();
                                while (buf.hasRemaining()) out.write(buf);
                                left -= n;
                            }
                        }
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try (SocketChannel s = SocketChannel.open(server.getLocalAddress())) {
                DataOutputStream header = new DataOutputStream(Channels.newOutputStream(s));
                ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
                for (Path f : files(src)) {
                    header.writeUTF(f.getFileName().toString());
                    header.writeLong(Files.size(f));
                    header.flush();
                    try (FileChannel in = FileChannel.open(f)) {
                        while (in.read(buf.clear()) > 0) {
                            buf.flip();
                            while (buf.hasRemaining()) s.write(buf);
                        }
                    }
                }
                header.writeUTF("");
                header.flush();
            }
            receiver.get(10, TimeUnit.MINUTES);
        }
    }

    private static List<Path> files(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return new ArrayList<>(s.sorted().toList());
        }
    }

    private static long dirBytes(Path dir) throws IOException {
        long n = 0;
        for (Path f : files(dir)) n += Files.size(f);
        return n;
    }

    private static int fileCount(Path dir) throws IOException {
        return files(dir).size();
    }
}
