package org.migrationmesh.transfer.lazy;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.migrationmesh.proto.lazypages.LazyPageRelayGrpc;
import org.migrationmesh.proto.lazypages.RelayFrame;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The source agent's side of post-copy: connects each relay call to the CRIU page server of
 * the migration it names. Page servers are registered while their lazy checkpoint runs, and
 * listen on loopback only, so they are reachable from other hosts only through this service.
 */
public final class LazyPageRelayService extends LazyPageRelayGrpc.LazyPageRelayImplBase {
    private static final int CONNECT_TIMEOUT_MS = 5000;
    private final Map<String, InetSocketAddress> pageServers = new ConcurrentHashMap<>();

    /** Makes {@code pageServer} reachable for migration {@code migrationId}; undo with the returned handle. */
    public AutoCloseable register(String migrationId, InetSocketAddress pageServer) {
        if (pageServers.putIfAbsent(migrationId, pageServer) != null) {
            throw new IllegalStateException("migration " + migrationId + " already has a page server registered");
        }
        return () -> pageServers.remove(migrationId, pageServer);
    }

    Optional<InetSocketAddress> pageServer(String migrationId) {
        return Optional.ofNullable(pageServers.get(migrationId));
    }

    @Override
    public StreamObserver<RelayFrame> relay(StreamObserver<RelayFrame> responses) {
        ServerCallStreamObserver<RelayFrame> out = (ServerCallStreamObserver<RelayFrame>) responses;
        ReadyGate gate = new ReadyGate(out);
        // Set on the open frame; the cancel handler must be registered now, before it exists.
        AtomicReference<RelayConnection> connection = new AtomicReference<>();
        out.setOnCancelHandler(() -> {
            RelayConnection c = connection.get();
            if (c != null) c.closeAll();
        });
        return new StreamObserver<>() {
            @Override
            public void onNext(RelayFrame frame) {
                RelayConnection c = connection.get();
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
                InetSocketAddress target = pageServers.get(id);
                if (target == null) {
                    out.onError(Status.NOT_FOUND.withDescription("no lazy checkpoint of migration '" + id
                            + "' serves pages on this agent").asRuntimeException());
                    return;
                }
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
                c = new RelayConnection(id, socket, out, gate);
                connection.set(c);
                c.start();
            }

            @Override
            public void onError(Throwable t) {
                RelayConnection c = connection.get();
                if (c != null) c.onCallError(t);
            }

            @Override
            public void onCompleted() {
                RelayConnection c = connection.get();
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
