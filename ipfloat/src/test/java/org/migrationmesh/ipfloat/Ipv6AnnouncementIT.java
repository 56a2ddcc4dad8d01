package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/**
 * An IPv6 floating address moved between hosts is announced by the kernel's unsolicited
 * neighbour advertisement: the client's neighbour entry follows the new owner without the
 * client sending anything.
 */
class Ipv6AnnouncementIT {

    @Test
    void clientNeighbourEntryFollowsTheNewOwner() throws Exception {
        ScheduledExecutorService announcer = Executors.newScheduledThreadPool(1);
        String prefix = "fd77:" + Integer.toHexString(ThreadLocalRandom.current().nextInt(1, 0xffff)) + "::";
        try (TestNetwork net = TestNetwork.create("a", "b", "c")) {
            int n = 1;
            for (String host : new String[] {"a", "b", "c"}) {
                net.exec(host, "ip", "addr", "add", prefix + n++ + "/64", "dev", "eth0", "nodad");
            }
            FloatingAddress vip = FloatingAddress.parse(prefix + "100/64");
            FloatingIps a = new FloatingIps(IpRoute2.inNamespace(net.ns("a")), "eth0", new EpochFence(), null,
                    AnnouncePolicy.standard(), Clock.systemUTC(), announcer);
            FloatingIps b = new FloatingIps(IpRoute2.inNamespace(net.ns("b")), "eth0", new EpochFence(), null,
                    AnnouncePolicy.standard(), Clock.systemUTC(), announcer);
            assertThat(a.claim(vip, 1).outcome()).isEqualTo(Change.Outcome.ADDED);
            net.exec("c", "ping", "-6", "-n", "-c", "1", "-W", "2", vip.host());
            assertThat(net.neighbourMac("c", vip.host())).isEqualTo(net.mac("a"));
            assertThat(net.exec("a", "ip", "-o", "addr", "show", "dev", "eth0")).contains("deprecated");

            a.release(vip, 2);
            long claimed = System.nanoTime();
            b.claim(vip, 2);
            String mac = "";
            while (System.nanoTime() - claimed < Duration.ofSeconds(2).toNanos()
                    && !(mac = net.neighbourMac("c", vip.host())).equals(net.mac("b"))) {
                Thread.sleep(5);
            }
            System.out.printf("IPv6 neighbour entry followed the new owner %.1f ms after the claim%n",
                    (System.nanoTime() - claimed) / 1e6);
            assertThat(mac).isEqualTo(net.mac("b"));
            net.exec("c", "ping", "-6", "-n", "-c", "1", "-W", "2", vip.host());
        } finally {
            announcer.shutdownNow();
        }
    }
}
