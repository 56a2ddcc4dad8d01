package org.migrationmesh.transfer.lazy;

import io.grpc.Context;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import org.migrationmesh.proto.lazypages.LazyPageRelayGrpc;
import org.migrationmesh.proto.lazypages.RelayFrame;
import org.migrationmesh.proto.lazypages.RelayOpen;
import org.migrationmesh.transfer.PageStore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The destination agent's side of post-copy: a loopback port for {@code criu lazy-pages
 * --port}, each connection to it carried over a relay call to the source agent. By default it
 * accepts pages the source pushes ahead of the daemon's requests and answers the daemon from
 * them (see {@link LazyPageRelayService}); a source that does not push is relayed as is.
 */
public final class LazyPageTunnel implements AutoCloseable {
    private final String migrationId;
    private final LazyPageRelayGrpc.LazyPageRelayStub stub;
    private final ServerSocket listener;
    /** Pushed pages kept for the daemon at most, per connection. */
    public static final long DEFAULT_CACHE_BYTES = 256L << 20;
    /** The least cache that still holds a few windows of pushed pages. */
    public static final long MIN_CACHE_BYTES = 8L << 20;
    private final long cacheBytes;
    private final PageStore preCopied;
    private final List<RelayLink> connections = new CopyOnWriteArrayList<>();
    private final List<ClientCallStreamObserver<RelayFrame>> calls = new CopyOnWriteArrayList<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    /** The call opened with the tunnel, waiting for the daemon's first connection. */
    private final AtomicReference<AnsweringConnection> waiting = new AtomicReference<>();

    private LazyPageTunnel(String migrationId, LazyPageRelayGrpc.LazyPageRelayStub stub, ServerSocket listener, long cacheBytes,
                           PageStore preCopied) {
        this.migrationId = migrationId;
        this.preCopied = preCopied;
        this.cacheBytes = cacheBytes;
        this.stub = stub;
        this.listener = listener;
    }

    /** Listens on a free loopback port and relays every connection to the source agent behind {@code stub}. */
    public static LazyPageTunnel open(LazyPageRelayGrpc.LazyPageRelayStub stub, String migrationId) throws IOException {
        return open(stub, migrationId, DEFAULT_CACHE_BYTES);
    }

    /**
     * Like {@link #open(LazyPageRelayGrpc.LazyPageRelayStub, String)}, keeping at most
     * {@code cacheBytes} of pushed pages per connection; 0 refuses pushes (a plain byte relay,
     * every page asked over the link).
     */
    public static LazyPageTunnel open(LazyPageRelayGrpc.LazyPageRelayStub stub, String migrationId, long cacheBytes)
            throws IOException {
        return open(stub, migrationId, cacheBytes, null);
    }

    /**
     * Like {@link #open(LazyPageRelayGrpc.LazyPageRelayStub, String, long)}; with pushes, pages
     * the source says did not change since its pre-copy are answered from {@code preCopied} (the
     * migration's page store here) instead of crossing the link again. Null: no pre-copy.
     */
    public static LazyPageTunnel open(LazyPageRelayGrpc.LazyPageRelayStub stub, String migrationId, long cacheBytes,
                                      PageStore preCopied) throws IOException {
        if (cacheBytes < 0 || (cacheBytes > 0 && cacheBytes < MIN_CACHE_BYTES)) {
            throw new IllegalArgumentException("pushed-page cache of migration " + migrationId + " must be 0 (no pushes) or at least "
                    + MIN_CACHE_BYTES + " bytes, got " + cacheBytes);
        }
        ServerSocket listener = new ServerSocket(0, 4, InetAddress.getLoopbackAddress());
        LazyPageTunnel t = new LazyPageTunnel(migrationId, stub, listener, cacheBytes, preCopied);
        Thread accept = new Thread(t::acceptLoop, "lazy-tunnel-" + migrationId);
        accept.setDaemon(true);
        accept.start();
        return t;
    }

    /**
     * Opens the relay call now, before the daemon connects (its first connection takes it
     * over): what the source pushes (digests of the pages the pre-copy sent, first) arrives
     * while the restore starts, before the daemon asks for anything. The source must have
     * registered the migration's page server already. No-op without pushes.
     */
    public void connectNow() {
        if (cacheBytes == 0 || waiting.get() != null) return;
        // Not in the caller's gRPC context: called from a server call (the restore), the relay
        // call would be cancelled when that call ends, long before the last page is pulled.
        Context previous = Context.ROOT.attach();
        try {
            waiting.set((AnsweringConnection) relay(null));
        } finally {
            Context.ROOT.detach(previous);
        }
    }

    /** The loopback port to give {@code criu lazy-pages --address 127.0.0.1 --port}. */
    public int port() {
        return listener.getLocalPort();
    }

    /** Bytes that came from the source's page server so far (the pages and their headers). */
    public long bytesFromSource() {
        return connections.stream().mapToLong(RelayLink::bytesFromPeer).sum();
    }

    /** Pages of the daemon's requests answered from pages the source pushed ahead (no round trip). */
    public long pagesAnsweredLocally() {
        return connections.stream().filter(c -> c instanceof AnsweringConnection)
                .mapToLong(c -> ((AnsweringConnection) c).pagesLocalAndForwarded()[0]).sum();
    }

    /** Pages the source did not send again because the pre-copy had sent them unchanged. */
    public long pagesFromPreCopy() {
        return connections.stream().filter(c -> c instanceof AnsweringConnection)
                .mapToLong(c -> ((AnsweringConnection) c).pagesFromPreCopy()).sum();
    }

    /** Pages of the daemon's requests that the source's page server answered over the link. */
    public long pagesForwarded() {
        return connections.stream().filter(c -> c instanceof AnsweringConnection)
                .mapToLong(c -> ((AnsweringConnection) c).pagesLocalAndForwarded()[1]).sum();
    }

    /** The first error of any relay call (e.g. the source knows no such migration), if any. */
    public Throwable failure() {
        return failure.get();
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            Socket socket;
            try {
                socket = listener.accept();
                socket.setTcpNoDelay(true);
            } catch (IOException e) {
                return; // closed
            }
            AnsweringConnection early = waiting.getAndSet(null);
            try {
                if (early != null && early.attach(socket)) continue;
            } catch (IOException e) {
                closeQuietly(socket);
                continue;
            }
            relay(socket);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing to release
        }
    }

    /** Opens a relay call for the daemon's connection {@code socket} (null: one to attach later); returns its link. */
    private RelayLink relay(Socket socket) {
        AtomicReference<RelayLink> conn = new AtomicReference<>();
        AtomicReference<ClientCallStreamObserver<RelayFrame>> started = new AtomicReference<>();
        stub.relay(new ClientResponseObserver<RelayFrame, RelayFrame>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<RelayFrame> call) {
                started.set(call);
                calls.add(call);
                ReadyGate gate = new ReadyGate(call);
                RelayLink c;
                try {
                    c = cacheBytes == 0 ? new RelayConnection(migrationId, socket, call, gate)
                            : new AnsweringConnection(migrationId, socket, call, gate, cacheBytes, preCopied);
                } catch (IOException e) {
                    throw new UncheckedIOException("migration " + migrationId + ": lazy-pages daemon connection unusable", e);
                }
                conn.set(c);
                connections.add(c);
            }

            @Override
            public void onNext(RelayFrame frame) {
                conn.get().onFrame(frame);
            }

            @Override
            public void onError(Throwable t) {
                failure.compareAndSet(null, t);
                conn.get().onCallError(t);
            }

            @Override
            public void onCompleted() {
                conn.get().onCallCompleted();
            }
        });
        ClientCallStreamObserver<RelayFrame> call = started.get();
        synchronized (call) {
            call.onNext(RelayFrame.newBuilder().setOpen(RelayOpen.newBuilder().setMigrationId(migrationId)
                    .setAcceptsPushedPages(cacheBytes > 0).setAcceptsHeldPages(cacheBytes > 0 && preCopied != null)).build());
        }
        conn.get().start();
        return conn.get();
    }

    @Override
    public void close() {
        try {
            listener.close();
        } catch (IOException ignored) {
            // closing is all we wanted
        }
        connections.forEach(RelayLink::closeAll);
        for (ClientCallStreamObserver<RelayFrame> c : calls) {
            try {
                c.cancel("tunnel closed", null);
            } catch (RuntimeException ignored) {
                // already finished
            }
        }
    }
}
