package org.migrationmesh.transfer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class TransferWarmUpTest {
    @Test
    void migratesItsSyntheticImageAndLeavesNothingBehind(@TempDir Path dir) throws Exception {
        Path work = dir.resolve("warm-up");
        Files.createDirectories(work.resolve("incoming/warm-up-0")); // as an agent killed while warming up leaves it
        assertThat(TransferWarmUp.run(work, 2, 64)).isPositive();
        assertThat(work).doesNotExist();
    }

    @Test
    void theAgentsWarmUpRunsPastTheCompileThresholdOfPerRoundCode(@TempDir Path dir) throws Exception {
        assertThat(TransferWarmUp.SMALL_ROUNDS).as("C1 compiles after ~200 calls").isGreaterThan(200);
        assertThat(TransferWarmUp.agent(dir.resolve("warm-up"))).isPositive();
        assertThat(dir.resolve("warm-up")).doesNotExist();
    }
}
