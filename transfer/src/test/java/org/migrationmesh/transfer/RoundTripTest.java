package org.migrationmesh.transfer;

import io.grpc.ManagedChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.migrationmesh.rpc.RpcEndpoints;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The sender learns the link's round trip from pings a real receiver answers over TCP. */
class RoundTripTest {
    @TempDir
    Path tmp;

    @Test
    void aPingTakesTheLinksRoundTrip() throws Exception {
        try (TransferHarness h = TransferHarness.loopback(tmp.resolve("recv"));
             DelayProxy proxy = new DelayProxy(h.server.getPort(), 40)) {
            ManagedChannel far = RpcEndpoints.channel("127.0.0.1:" + proxy.port());
            try {
                Duration rtt = new ImageSender(far, Clock.systemUTC()).roundTrip("m-ping", 2, TransferOptions.defaults());
                assertThat(rtt).as("40 ms each way").isBetween(Duration.ofMillis(80), Duration.ofMillis(80 + 2000));
                Duration direct = h.sender().roundTrip("m-ping", 2, TransferOptions.defaults());
                assertThat(direct).isPositive().isLessThan(Duration.ofMillis(80));
            } finally {
                far.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }
}
