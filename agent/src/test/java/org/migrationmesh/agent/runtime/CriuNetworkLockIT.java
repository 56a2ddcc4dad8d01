package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * CRIU's network lock as the agent chooses it ({@link CriuConfig}, {@link ContainerSockets}):
 * a container whose processes hold a TCP socket is dumped under CRIU's lock, which stays in the
 * namespace until removed; one without is dumped with {@code network-lock skip} and leaves none.
 * Restores into the destination's namespace skip the lock, also of a TCP container dumped under it.
 */
class CriuNetworkLockIT {
    private RuntimeFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new RuntimeFixture("mmnl");
    }

    @AfterEach
    void tearDown() {
        if (fx != null) fx.close();
    }

    @Test
    void aContainerWithoutTcpSocketsIsDumpedWithoutTheLock() throws Exception {
        String id = "udp-" + fx.net.prefix();
        String ip = floatingAddressOnA();
        List<String> args = List.of("/bin/memhog", "8", "0", ip, "7001");
        fx.runcA.run(id, bundle(fx.a, id, "memhog", args, false));
        assertThat(ContainerSockets.holdsTcp(id, fx.runcA.state(id).pid())).as("memhog answers UDP only").isFalse();

        moveAndCheckLock(id, ip, "memhog", args, false);
    }

    @Test
    void aContainerWithATcpSocketIsDumpedUnderTheLockAndRestoredWithoutIt() throws Exception {
        String id = "tcp-" + fx.net.prefix();
        String ip = floatingAddressOnA();
        List<String> args = List.of("/bin/tickserver", ip, "7000", "7001");
        fx.runcA.run(id, bundle(fx.a, id, "tickserver", args, false));
        assertThat(ContainerSockets.holdsTcp(id, fx.runcA.state(id).pid())).as("tickserver listens on TCP").isTrue();

        moveAndCheckLock(id, ip, "tickserver", args, true);
    }

    /**
     * Dumps on A with the lock the agent chooses (its CRIU configuration rewritten before the dump,
     * as the agent's ContainerHost.prepareDump does), checks what lock A is left with, restores on B
     * without one.
     */
    private void moveAndCheckLock(String id, String ip, String workload, List<String> args, boolean locked) throws Exception {
        new CriuConfig(null, ContainerSockets.holdsTcp(id, fx.runcA.state(id).pid())).write(configOf(fx.a, id));
        fx.runcA.checkpoint(id, CheckpointOptions.stopAndCopy(fx.dir.resolve("images"), fx.dir.resolve("work-dump")));
        List<String> left = new NetworkLock(fx.runner).remove(fx.a.netns());
        if (locked) {
            assertThat(left).as("CRIU's lock stayed in A's namespace until removed").isNotEmpty();
        } else {
            assertThat(left).as("no lock in A's namespace").isEmpty();
        }
        fx.net.removeAddress(fx.a, ip);
        fx.net.addAddress(fx.b, ip);
        RestoreResult restored = fx.runcB.restore(id, bundle(fx.b, id, workload, args, false),
                RestoreOptions.of(fx.dir.resolve("images"), fx.dir.resolve("work-restore")));
        assertThat(restored.pid()).isPositive();
        assertThat(fx.runcB.state(id).status()).isEqualTo("running");
        assertThat(new NetworkLock(fx.runner).remove(fx.b.netns())).as("no lock in B's namespace").isEmpty();
    }

    private String floatingAddressOnA() throws Exception {
        String ip = fx.net.newFloatingAddress();
        fx.net.addAddress(fx.a, ip);
        return ip;
    }

    private Path configOf(org.migrationmesh.agent.sim.SimulatedNetwork.Host host, String id) {
        return fx.dir.resolve("criu").resolve(host.name() + "-" + id + ".conf");
    }

    /** A bundle whose CRIU configuration locks the network or not. */
    private Path bundle(org.migrationmesh.agent.sim.SimulatedNetwork.Host host, String id, String workload, List<String> args,
                        boolean networkLock) throws Exception {
        Path conf = configOf(host, id);
        java.nio.file.Files.createDirectories(conf.getParent());
        new CriuConfig(null, networkLock).write(conf);
        BundleSpec spec = BundleSpec.of(args, host.netnsPath(), fx.cgroupParent + "/" + host.name() + "/" + id)
                .withCriuConfig(conf);
        return Workloads.bundle(fx.dir.resolve("bundles").resolve(host.name()).resolve(id), workload, spec);
    }
}
