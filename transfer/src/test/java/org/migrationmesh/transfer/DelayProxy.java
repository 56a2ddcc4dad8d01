package org.migrationmesh.transfer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A user-space TCP proxy on loopback that delays every byte by a fixed time in each direction,
 * as a long link would (bandwidth unlimited, no loss): for benchmarks of round trips. Each
 * direction of each connection is a reader thread that stamps what it reads and a writer thread
 * that writes it once its time has come.
 */
final class DelayProxy implements AutoCloseable {
    private final ServerSocket listener;
    private final int targetPort;
    private final long delayNanos;
    private final List<Socket> sockets = new ArrayList<>();
    private final Thread acceptor;
    private volatile boolean closed;

    /** A proxy on 127.0.0.1 (a free port) to 127.0.0.1:{@code targetPort}, {@code oneWayMillis} each way. */
    DelayProxy(int targetPort, long oneWayMillis) throws IOException {
        this.targetPort = targetPort;
        this.delayNanos = TimeUnit.MILLISECONDS.toNanos(oneWayMillis);
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.acceptor = new Thread(this::acceptLoop, "delay-proxy-accept-" + port());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket();
                server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort));
                for (Socket s : new Socket[] {client, server}) s.setTcpNoDelay(true);
                synchronized (sockets) {
                    sockets.add(client);
                    sockets.add(server);
                }
                pump(client, server, "up");
                pump(server, client, "down");
            } catch (IOException e) {
                if (!closed) throw new java.io.UncheckedIOException("delay proxy on port " + port(), e);
            }
        }
    }

    private record Due(long atNanos, byte[] bytes) {}

    private void pump(Socket from, Socket to, String direction) throws IOException {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        BlockingQueue<Due> queue = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            byte[] buf = new byte[256 * 1024];
            try {
                for (int n; (n = in.read(buf)) >= 0; ) queue.put(new Due(System.nanoTime() + delayNanos, Arrays.copyOf(buf, n)));
            } catch (IOException | InterruptedException e) {
                // the connection ended
            }
            queue.add(new Due(System.nanoTime() + delayNanos, null));
        }, "delay-proxy-" + direction + "-read");
        Thread writer = new Thread(() -> {
            try {
                while (true) {
                    Due d = queue.take();
                    long wait = d.atNanos() - System.nanoTime();
                    if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
                    if (d.bytes() == null) break;
                    out.write(d.bytes());
                }
                to.shutdownOutput();
            } catch (IOException | InterruptedException e) {
                // the connection ended
            }
        }, "delay-proxy-" + direction + "-write");
        for (Thread t : new Thread[] {reader, writer}) {
            t.setDaemon(true);
            t.start();
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        listener.close();
        synchronized (sockets) {
            for (Socket s : sockets) s.close();
        }
    }
}
