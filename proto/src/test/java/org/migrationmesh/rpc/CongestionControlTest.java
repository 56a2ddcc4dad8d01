package org.migrationmesh.rpc;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.Test;
import org.migrationmesh.proto.transfer.ImageTransferGrpc;
import org.migrationmesh.proto.transfer.PingReply;
import org.migrationmesh.proto.transfer.PingRequest;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Connections built by {@link RpcEndpoints} use its congestion control on both ends, as the kernel reports it. */
class CongestionControlTest {
    @Test
    void bothEndsOfEveryAgentConnectionUseCubic() throws Exception {
        Server server = RpcEndpoints.startServer("127.0.0.1", 0, List.of(new ImageTransferGrpc.ImageTransferImplBase() {
            @Override
            public void ping(PingRequest request, StreamObserver<PingReply> reply) {
                reply.onNext(PingReply.getDefaultInstance());
                reply.onCompleted();
            }
        }));
        // three channels, three connections: the option must reach each, not only the first
        List<ManagedChannel> channels = List.of(RpcEndpoints.channel("127.0.0.1:" + server.getPort()),
                RpcEndpoints.channel("127.0.0.1:" + server.getPort()), RpcEndpoints.channel("127.0.0.1:" + server.getPort()));
        try {
            for (ManagedChannel channel : channels) {
                ImageTransferGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS).ping(PingRequest.getDefaultInstance());
            }
            // ss: one line per end of each connection (the clients' and the server's sockets)
            Process ss = new ProcessBuilder("ss", "-tinH", "state", "established",
                    "( sport = :" + server.getPort() + " or dport = :" + server.getPort() + " )").redirectErrorStream(true).start();
            String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(ss.waitFor()).isZero();
            List<String> info = out.lines().filter(l -> l.startsWith("\t") || l.startsWith(" ")).toList();
            assertThat(info).as("both ends' TCP info in\n%s", out).hasSize(6)
                    .allSatisfy(l -> assertThat(l).contains(" " + RpcEndpoints.CONGESTION_CONTROL + " "));
        } finally {
            channels.forEach(ManagedChannel::shutdownNow);
            server.shutdownNow();
        }
    }
}
