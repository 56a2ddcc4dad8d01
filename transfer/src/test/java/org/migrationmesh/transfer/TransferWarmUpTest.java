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
}
