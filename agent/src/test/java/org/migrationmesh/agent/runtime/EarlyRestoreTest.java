package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** How the agent opens and aborts the gate mmcriu waits at: a mark, then a byte in its wake-up FIFO. */
class EarlyRestoreTest {
    @TempDir
    Path dir;

    @Test
    void openingMarksTheGateAndWakesWhoWaitsOnItsFifo() throws Exception {
        Path gate = gateWithFifo();
        try (SeekableByteChannel waiting = Files.newByteChannel(gate.resolve(EarlyRestore.WAKE), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            EarlyRestore early = EarlyRestore.start("c1", gate, EarlyRestoreTest::neverReturns);
            early.open();
            assertThat(gate.resolve(EarlyRestore.OPEN)).exists();
            ByteBuffer woken = ByteBuffer.allocate(1);
            // blocks (and times out) if nothing was written
            assertThat(assertTimeoutPreemptively(Duration.ofSeconds(10), () -> waiting.read(woken))).as("a byte in the FIFO")
                    .isEqualTo(1);
        }
    }

    @Test
    void aFifoNobodyReadsDoesNotHoldTheAgent() throws Exception {
        Path gate = gateWithFifo();
        EarlyRestore early = EarlyRestore.start("c2", gate, EarlyRestoreTest::neverReturns);
        // Opened for writing only, a FIFO without a reader would block here for good (mmcriu gone).
        assertTimeoutPreemptively(Duration.ofSeconds(10), early::abort);
        assertThat(gate.resolve(EarlyRestore.ABORT)).exists();
    }

    @Test
    void beforeMmcriuMadeItsFifoTheMarkIsEnough() throws Exception {
        Path gate = Files.createDirectories(dir.resolve("gate"));
        EarlyRestore early = EarlyRestore.start("c3", gate, EarlyRestoreTest::neverReturns);
        early.open();
        assertThat(gate.resolve(EarlyRestore.OPEN)).exists();
        assertThat(gate.resolve(EarlyRestore.WAKE)).as("no plain file where mmcriu makes its FIFO").doesNotExist();
    }

    private Path gateWithFifo() throws Exception {
        Path gate = Files.createDirectories(dir.resolve("gate"));
        Process mkfifo = new ProcessBuilder("mkfifo", gate.resolve(EarlyRestore.WAKE).toString()).inheritIO().start();
        assertThat(mkfifo.waitFor()).isZero();
        assertThat(Files.readAttributes(gate.resolve(EarlyRestore.WAKE), BasicFileAttributes.class).isOther()).isTrue();
        return gate;
    }

    private static RestoreResult neverReturns() {
        try {
            Thread.sleep(Long.MAX_VALUE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new IllegalStateException("interrupted");
    }
}
