package org.migrationmesh.transfer.lazy;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.migrationmesh.proto.lazypages.LazyPageRelayGrpc;
import org.migrationmesh.proto.lazypages.RelayFrame;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The source agent's side of post-copy: connects each relay call to the CRIU page server of
 * the migration it names. Page servers are registered while their lazy checkpoint runs, and
 * listen on loopback only, so they are reachable from other hosts only through this service.
 *
 * <p>When the checkpoint's image directory is registered too and the destination accepts
 * pushed pages, the relay does not wait for the daemon to ask for each page (one round trip
 * per request over a WAN): it asks the page server for every lazy page itself, a bounded
 * window ahead ({@link PushSettings}), and pushes them to the destination, which answers the
 * daemon from them. The daemon's own requests still go first.
 */
public final class LazyPageRelayService extends LazyPageRelayGrpc.LazyPageRelayImplBase {
    private static final int CONNECT_TIMEOUT_MS = 5000;
    private final Map<String, PageSource> pageServers = new ConcurrentHashMap<>();
    private final PushSettings push;

    /**
     * How the source pushes: requests of {@code chunkBytes} to the page server, at most
     * {@code maxOutstanding} of them unanswered, and at most {@code windowBytes} of pushed pages
     * asked or sent but not yet acknowledged by the destination (what a page fault's answer may
     * queue behind on the link).
     */
    public record PushSettings(long chunkBytes, long windowBytes, int maxOutstanding) {
        public static final PushSettings DEFAULT = new PushSettings(256 << 10, 1 << 20, 2);

        public PushSettings {
            if (chunkBytes < 4096 || chunkBytes % 4096 != 0 || chunkBytes > 4 << 20) {
                throw new IllegalArgumentException("push chunk must be 1 to 1024 pages of 4 KiB, got " + chunkBytes + " bytes");
            }
            if (windowBytes < chunkBytes) throw new IllegalArgumentException("push window " + windowBytes + " < chunk " + chunkBytes);
            if (maxOutstanding < 1) throw new IllegalArgumentException("max outstanding pushes must be >= 1, got " + maxOutstanding);
        }
    }

    /** A registered page server and, if pushes are wanted, the lazy pages it serves. */
    private record PageSource(InetSocketAddress pageServer, LazyRanges lazy, PreCopiedPages preCopied) {
    }

    public LazyPageRelayService() {
        this(PushSettings.DEFAULT);
    }

    public LazyPageRelayService(PushSettings push) {
        this.push = push;
    }

    /** Makes {@code pageServer} reachable for migration {@code migrationId}; undo with the returned handle. */
    public AutoCloseable register(String migrationId, InetSocketAddress pageServer) {
        return register(migrationId, pageServer, null);
    }

    /**
     * Like {@link #register(String, InetSocketAddress)}, and pushes the lazy pages listed in the
     * pagemaps of {@code imageDir} (the lazy checkpoint's image directory, read now: its images
     * must be written) to destinations that accept them.
     *
     * @throws IllegalArgumentException if the pagemaps cannot be read or parsed
     */
    public AutoCloseable register(String migrationId, InetSocketAddress pageServer, Path imageDir) {
        return register(migrationId, pageServer, imageDir, null);
    }

    /**
     * Like {@link #register(String, InetSocketAddress, Path)}; pushed pages that
     * {@code preCopied} says the destination holds already go as digests (to destinations that
     * accept that), so only what changed since the pre-copy crosses the link again.
     */
    public AutoCloseable register(String migrationId, InetSocketAddress pageServer, Path imageDir, PreCopiedPages preCopied) {
        LazyRanges lazy = null;
        if (imageDir != null) {
            try {
                lazy = LazyRanges.fromImages(imageDir);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("migration " + migrationId + ": cannot list the lazy pages of the checkpoint in "
                        + imageDir + ": " + e.getMessage(), e);
            }
        }
        PageSource source = new PageSource(pageServer, lazy, preCopied);
        if (pageServers.putIfAbsent(migrationId, source) != null) {
            throw new IllegalStateException("migration " + migrationId + " already has a page server registered");
        }
        return () -> pageServers.remove(migrationId, source);
    }

    Optional<InetSocketAddress> pageServer(String migrationId) {
        return Optional.ofNullable(pageServers.get(migrationId)).map(PageSource::pageServer);
    }

    @Override
    public StreamObserver<RelayFrame> relay(StreamObserver<RelayFrame> responses) {
        ServerCallStreamObserver<RelayFrame> out = (ServerCallStreamObserver<RelayFrame>) responses;
        ReadyGate gate = new ReadyGate(out);
        // Set on the open frame; the cancel handler must be registered now, before it exists.
        AtomicReference<RelayLink> connection = new AtomicReference<>();
        out.setOnCancelHandler(() -> {
            RelayLink c = connection.get();
            if (c != null) c.closeAll();
        });
        return new StreamObserver<>() {
            @Override
            public void onNext(RelayFrame frame) {
                RelayLink c = connection.get();
                if (c != null) {
                    c.onFrame(frame);
                    return;
                }
                if (frame.getKindCase() != RelayFrame.KindCase.OPEN) {
                    out.onError(Status.INVALID_ARGUMENT.withDescription("a relay starts with an open frame, got "
                            + frame.getKindCase()).asRuntimeException());
                    return;
                }
                String id = frame.getOpen().getMigrationId();
                PageSource source = pageServers.get(id);
                if (source == null) {
                    out.onError(Status.NOT_FOUND.withDescription("no lazy checkpoint of migration '" + id
                            + "' serves pages on this agent").asRuntimeException());
                    return;
                }
                InetSocketAddress target = source.pageServer();
                LazyRanges lazy = source.lazy() != null && frame.getOpen().getAcceptsPushedPages() ? source.lazy().copy() : null;
                Socket socket = new Socket();
                try {
                    socket.setTcpNoDelay(true);
                    socket.connect(target, CONNECT_TIMEOUT_MS);
                } catch (IOException e) {
                    closeQuietly(socket);
                    out.onError(Status.UNAVAILABLE.withDescription("migration '" + id + "': cannot reach the CRIU page server at "
                            + target + ": " + e.getMessage()).asRuntimeException());
                    return;
                }
                c = lazy == null ? new RelayConnection(id, socket, out, gate)
                        : new PushingRelay(id, socket, out, gate,
                                new PushPlanner(lazy, push.chunkBytes(), push.windowBytes(), push.maxOutstanding()),
                                frame.getOpen().getAcceptsHeldPages() ? source.preCopied() : null);
                connection.set(c);
                c.start();
            }

            @Override
            public void onError(Throwable t) {
                RelayLink c = connection.get();
                if (c != null) c.onCallError(t);
            }

            @Override
            public void onCompleted() {
                RelayLink c = connection.get();
                if (c != null) c.onCallCompleted();
                else out.onCompleted();
            }
        };
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing to release
        }
    }
}
