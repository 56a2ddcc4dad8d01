package org.migrationmesh.transfer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.IntUnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A staged pages file laid out in the background: nothing reads or writes it before the layout ends, and a failed layout is not lost. */
class StagedPagesTest {
    private static final long[] VADDRS = {0x1000, 0x2000, 0x3000};
    private static final long[] DIGESTS = {11, 12, 13};
    @TempDir
    Path tmp;
    private final ExecutorService executor = Executors.newSingleThreadExecutor();

    @Test
    void theFileIsNotTouchedBeforeItsLayoutEnds() throws Exception {
        CountDownLatch copying = new CountDownLatch(1);
        StagedPages staged = new StagedPages(tmp.resolve("pages-1.img"), "1", VADDRS);
        BitSet held = new BitSet();
        held.set(0, 3);
        staged.layOutInBackground(DIGESTS, held, 0, 3L * PageHash.PAGE_SIZE, store(n -> {
            try {
                copying.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return n;
        }), executor);

        CompletableFuture<Boolean> asked = CompletableFuture.supplyAsync(() -> staged.heldInPlace(2));
        assertThat(asked).as("answered while the held pages are still being copied").isNotDone();
        Thread.sleep(100);
        assertThat(asked).as("answered while the held pages are still being copied").isNotDone();
        copying.countDown();
        assertThat(asked.get(10, TimeUnit.SECONDS)).isTrue();
        assertThat(staged.holds(1, 12)).isTrue();
        staged.close();
        executor.shutdownNow();
    }

    @Test
    void aFailedLayoutIsThrownByTheNextCallOnce() {
        StagedPages staged = new StagedPages(tmp.resolve("pages-1.img"), "1", VADDRS);
        BitSet held = new BitSet();
        held.set(1);
        staged.layOutInBackground(DIGESTS, held, 0, 3L * PageHash.PAGE_SIZE, store(n -> {
            throw new UncheckedIOException(new java.io.IOException("disk gone"));
        }), executor);

        assertThatThrownBy(() -> staged.heldInPlace(1)).isInstanceOf(UncheckedIOException.class).hasMessageContaining("disk gone");
        assertThat(staged.heldInPlace(1)).as("not laid out").isFalse();
        staged.close();
        executor.shutdownNow();
    }

    /** A store holding no live file, whose copies of held runs take {@code copied(count)} pages (zeros written). */
    private static PageStore store(IntUnaryOperator copied) {
        return new PageStore() {
            @Override
            public boolean holds(PageKey key, long digest) {
                return true;
            }

            @Override
            public boolean read(PageKey key, byte[] dst, int off) {
                return false;
            }

            @Override
            public int transferRun(String space, long[] vaddrs, long[] digests, int from, int count, FileChannel dst, long dstPosition) {
                int n = copied.applyAsInt(count);
                try {
                    dst.write(ByteBuffer.allocate(n * PageHash.PAGE_SIZE), dstPosition);
                } catch (java.io.IOException e) {
                    throw new UncheckedIOException(e);
                }
                return n;
            }

            @Override
            public Optional<PageStore.Yielded> yieldLiveFile(String space, long[] vaddrs, long[] digests, Path target) {
                return Optional.empty();
            }

            @Override
            public void putLive(PageKey key, byte[] src, int off) {
            }

            @Override
            public void adoptRound(int round, Path pagesFile, String space, long[] vaddrs, long[] digests) {
            }

            @Override
            public int size() {
                return 0;
            }

            @Override
            public void close() {
            }
        };
    }
}
