package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Pre-dump with --parent-path where the kernel tracks dirty memory; a clear refusal where it
 * does not (as on the development VM, whose kernel lacks CONFIG_MEM_SOFT_DIRTY).
 */
class PreDumpIT {
    private RuntimeFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new RuntimeFixture("pd");
    }

    @AfterEach
    void tearDown() {
        if (fx != null) fx.close();
    }

    @Test
    void preDumpFollowsTheKernelsDirtyTracking() throws Exception {
        ContainerRuntime runtime = ContainerRuntime.open(fx.runcA.config(), fx.runner);
        boolean tracking = new Criu(Criu.DEFAULT_BINARY, fx.runner).hasFeature("mem_dirty_track");
        assertThat(runtime.capabilities().getDirtyTracking()).isEqualTo(tracking);

        String id = "pd-" + fx.net.prefix();
        List<String> args = List.of("/bin/memhog", "32", "100");
        fx.runcA.run(id, fx.bundle(fx.a, id, "memhog", args));
        Path round1 = fx.dir.resolve("img").resolve("1");
        Path round2 = fx.dir.resolve("img").resolve("2");
        CheckpointOptions first = CheckpointOptions.stopAndCopy(round1, fx.dir.resolve("work1")).asPreDump(null);
        if (!tracking) {
            assertThatThrownBy(() -> runtime.preDump(id, first))
                    .isInstanceOf(RuntimeFailure.class)
                    .hasMessageContaining("pre-dump of container '" + id + "'")
                    .hasMessageContaining("no memory dirty tracking");
            assertThat(fx.runcA.state(id).running()).isTrue();
            return;
        }
        CheckpointResult pre = runtime.preDump(id, first);
        assertThat(fx.runcA.state(id).running()).as("a pre-dump leaves the container running").isTrue();
        assertThat(pre.stats().getPagesWritten()).isGreaterThan(30L * 256);
        CheckpointResult fin = fx.runcA.checkpoint(id,
                CheckpointOptions.stopAndCopy(round2, fx.dir.resolve("work2")).withParent(round1).withTcpEstablished(false));
        assertThat(fin.stats().getPagesSkippedParent()).as("the final dump reuses the pre-dump's pages").isPositive();
        RestoreResult r = fx.runcB.restore(id, fx.bundle(fx.b, id, "memhog", args),
                RestoreOptions.of(round2, fx.dir.resolve("work-r")).withTcpEstablished(false));
        assertThat(r.pid()).isPositive();
        assertThat(fx.runcB.state(id).running()).isTrue();
    }
}
