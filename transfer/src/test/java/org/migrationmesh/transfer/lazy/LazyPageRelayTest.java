package org.migrationmesh.transfer.lazy;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.migrationmesh.proto.lazypages.LazyPageRelayGrpc;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** The relay between two agents (in-process gRPC) in front of a real TCP "page server". */
class LazyPageRelayTest {
    private final LazyPageRelayService service = new LazyPageRelayService();
    private Server server;
    private ManagedChannel channel;
    private ServerSocket echo;

    @BeforeEach
    void setUp() throws Exception {
        String name = "relay-" + UUID.randomUUID();
        server = InProcessServerBuilder.forName(name).addService(service).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
        echo = new ServerSocket(0, 4, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            while (!echo.isClosed()) {
                try (Socket s = echo.accept(); InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                    in.transferTo(out); // echo until the client half-closes, then close
                } catch (Exception e) {
                    return;
                }
            }
        });
        t.setDaemon(true);
        t.start();
    }

    @AfterEach
    void tearDown() throws Exception {
        channel.shutdownNow();
        server.shutdownNow();
        echo.close();
    }

    @Test
    void bytesCrossBothWaysAndEndCleanly() throws Exception {
        try (AutoCloseable reg = service.register("m1", (InetSocketAddress) echo.getLocalSocketAddress());
             LazyPageTunnel tunnel = LazyPageTunnel.open(LazyPageRelayGrpc.newStub(channel), "m1", 0)) {
            byte[] data = new byte[5 << 20];
            new Random(7).nextBytes(data);
            byte[] back = new byte[data.length];
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), tunnel.port())) {
                Thread writer = new Thread(() -> {
                    try {
                        s.getOutputStream().write(data);
                        s.shutdownOutput();
                    } catch (Exception ignored) {
                        // the read side fails the test
                    }
                });
                writer.start();
                int got = 0;
                InputStream sin = s.getInputStream();
                while (got < back.length) {
                    int r = sin.read(back, got, back.length - got);
                    if (r < 0) break;
                    got += r;
                }
                assertThat(got).as("bytes echoed back; tunnel got " + tunnel.bytesFromSource() + ", failure " + tunnel.failure()).isEqualTo(data.length);
                assertThat(s.getInputStream().read()).as("the page server's close arrives as EOF").isEqualTo(-1);
                writer.join();
            }
            assertThat(Arrays.equals(data, back)).isTrue();
            assertThat(tunnel.bytesFromSource()).isEqualTo(data.length);
            assertThat(tunnel.failure()).isNull();
        }
    }

    @Test
    void unknownMigrationIsRefusedAndTheConnectionClosed() throws Exception {
        try (LazyPageTunnel tunnel = LazyPageTunnel.open(LazyPageRelayGrpc.newStub(channel), "nope");
             Socket s = new Socket(InetAddress.getLoopbackAddress(), tunnel.port())) {
            s.setSoTimeout(5000);
            assertThat(s.getInputStream().read()).isEqualTo(-1);
            assertThat(tunnel.failure()).hasMessageContaining("NOT_FOUND")
                    .hasMessageContaining("no lazy checkpoint of migration 'nope'");
        }
    }

    @Test
    void registrationIsUndoneAndNotShared() throws Exception {
        InetSocketAddress a = new InetSocketAddress(InetAddress.getLoopbackAddress(), 1);
        try (AutoCloseable reg = service.register("m2", a)) {
            assertThat(service.pageServer("m2")).contains(a);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> service.register("m2", a))
                    .hasMessageContaining("already has a page server");
        }
        assertThat(service.pageServer("m2")).isEmpty();
    }
}
