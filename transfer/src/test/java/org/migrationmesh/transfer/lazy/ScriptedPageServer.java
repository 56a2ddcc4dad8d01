package org.migrationmesh.transfer.lazy;

import org.migrationmesh.transfer.SyntheticImage;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The page-server side of CRIU's lazy protocol as page-xfer.c implements it, for unit tests of
 * the relay (the ITs run the real one): one connection, GETs answered in order with the pages
 * of the lazy range, clamped at {@code iovPages} boundaries like page_pipe_read clamps at the
 * end of its buffers; an unknown range closes the connection (CRIU fails the same way);
 * CLOSE answered with a zero status, then it waits for the peer to close.
 */
final class ScriptedPageServer implements AutoCloseable {
    static final int P = 4096;
    private final ServerSocket listener;
    private final Map<Long, long[]> lazy; // pid -> {start, pages}
    private final int iovPages;
    final List<PageServerIov> requests = new CopyOnWriteArrayList<>();
    final AtomicReference<String> failure = new AtomicReference<>();

    ScriptedPageServer(Map<Long, long[]> lazy, int iovPages) throws IOException {
        this.lazy = lazy;
        this.iovPages = iovPages;
        listener = new ServerSocket(0, 4, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::serve, "scripted-page-server");
        t.setDaemon(true);
        t.start();
    }

    InetSocketAddress address() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    /** The content of a page: distinct per process and address. */
    static byte[] page(long pid, long vaddr) {
        byte[] b = new byte[P];
        new Random(pid * 1_000_003L ^ vaddr).nextBytes(b);
        return b;
    }

    /** Writes pagemap-PID.img for every lazy range into {@code dir} (plus a non-lazy entry each). */
    void writePagemaps(Path dir) throws IOException {
        for (Map.Entry<Long, long[]> e : lazy.entrySet()) {
            long[] r = e.getValue();
            Files.write(dir.resolve("pagemap-" + e.getKey() + ".img"), pagemap(new long[][] {
                    {0x1000, 2, 4 /* PE_PRESENT */}, {r[0], r[1], 2 /* PE_LAZY */}}));
        }
        Files.write(dir.resolve("pagemap-shmem-9.img"), pagemap(new long[][] {{0x5000, 4, 2}}));
    }

    private void serve() {
        try (Socket s = listener.accept()) {
            DataInputStream in = new DataInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            byte[] b = new byte[PageServerIov.SIZE];
            while (true) {
                try {
                    in.readFully(b);
                } catch (EOFException e) {
                    return;
                }
                PageServerIov q = PageServerIov.decode(b, 0);
                requests.add(q);
                if (q.isClose()) {
                    out.write(new byte[4]);
                    out.flush();
                    while (in.read() >= 0) {
                        // wait for the peer to close, as page_server_serve does
                    }
                    return;
                }
                long[] r = lazy.get(q.dstId());
                long end = r == null ? 0 : r[0] + r[1] * P;
                if (!q.isGet() || r == null || q.vaddr() < r[0] || q.vaddr() >= end || q.nrPages() < 1) {
                    failure.compareAndSet(null, "bad request " + q);
                    return;
                }
                long iovEnd = r[0] + ((q.vaddr() - r[0]) / ((long) iovPages * P) + 1) * iovPages * P;
                long n = Math.min(q.nrPages(), (Math.min(end, iovEnd) - q.vaddr()) / P);
                out.write(q.answerHeader(n).encode());
                for (long i = 0; i < n; i++) out.write(page(q.dstId(), q.vaddr() + i * P));
                out.flush();
            }
        } catch (IOException e) {
            failure.compareAndSet(null, e.toString());
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }

    /** A pagemap of {vaddr, nr_pages, flags} entries (the compat count left 0, as CRIU writes it). */
    private static byte[] pagemap(long[][] entries) {
        long[][] full = new long[entries.length][];
        for (int k = 0; k < entries.length; k++) full[k] = new long[] {entries[k][0], 0, entries[k][2], entries[k][1]};
        return SyntheticImage.pagemap(1, full);
    }
}
