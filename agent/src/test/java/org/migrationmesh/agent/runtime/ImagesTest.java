package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/** Removing a migration's directories. */
class ImagesTest {
    @TempDir
    Path tmp;

    @Test
    void twoRemovalsOfOneTreeAtOnceBothSucceed() throws Exception {
        // A migration's runner and the leftovers sweep its end starts remove the same directory.
        for (int round = 0; round < 20; round++) {
            Path root = tmp.resolve("migration-" + round);
            for (int d = 0; d < 10; d++) {
                Path dir = Files.createDirectories(root.resolve("work-" + d));
                for (int f = 0; f < 50; f++) Files.writeString(dir.resolve("f" + f), "x");
            }
            CompletableFuture<Void> a = CompletableFuture.runAsync(() -> delete(root));
            CompletableFuture<Void> b = CompletableFuture.runAsync(() -> delete(root));
            CompletableFuture.allOf(a, b).join();
            assertThat(root).doesNotExist();
        }
        Images.delete(tmp.resolve("never-made"));
    }

    private static void delete(Path root) {
        try {
            Images.delete(root);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
