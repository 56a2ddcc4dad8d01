package org.migrationmesh.transfer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Ranges inserted into and collapsed out of a file, what follows moved within it. */
class FileRangesTest {
    @TempDir
    Path tmp;

    private static final int SIZE = 3 * (1 << 20) + 5 * 4096; // several pieces and a part of one

    private Path file(byte[] content) throws Exception {
        Path f = tmp.resolve("f");
        Files.write(f, content);
        return f;
    }

    @Test
    void collapsingARangeMovesEverythingAfterItDown() throws Exception {
        byte[] content = new byte[SIZE];
        new Random(1).nextBytes(content);
        Path f = file(content);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileRanges.collapse(ch, 241 * 4096L, 4096);
        }
        byte[] expected = new byte[SIZE - 4096];
        System.arraycopy(content, 0, expected, 0, 241 * 4096);
        System.arraycopy(content, 242 * 4096, expected, 241 * 4096, SIZE - 242 * 4096);
        assertThat(Files.readAllBytes(f)).isEqualTo(expected);
    }

    @Test
    void insertingARangeMovesEverythingAfterItUpAndLeavesZeros() throws Exception {
        byte[] content = new byte[SIZE];
        new Random(2).nextBytes(content);
        Path f = file(content);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileRanges.insert(ch, 240 * 4096L, 3 * 4096);
        }
        byte[] expected = new byte[SIZE + 3 * 4096];
        System.arraycopy(content, 0, expected, 0, 240 * 4096);
        System.arraycopy(content, 240 * 4096, expected, 243 * 4096, SIZE - 240 * 4096);
        assertThat(Files.readAllBytes(f)).isEqualTo(expected);
    }

    @Test
    void aRangeBeyondTheEndIsRefusedAndTheFileLeftAsItWas() throws Exception {
        byte[] content = new byte[8 * 4096];
        new Random(3).nextBytes(content);
        Path f = file(content);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            assertThatThrownBy(() -> FileRanges.collapse(ch, 6 * 4096L, 3 * 4096)).hasMessageContaining("beyond the end");
            assertThatThrownBy(() -> FileRanges.insert(ch, 9 * 4096L, 4096)).hasMessageContaining("beyond the end");
        }
        assertThat(Arrays.equals(Files.readAllBytes(f), content)).isTrue();
    }
}
