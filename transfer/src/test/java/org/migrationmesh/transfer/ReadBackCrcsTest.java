package org.migrationmesh.transfer;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What a file's pages read back stand for, and what a write takes away. */
class ReadBackCrcsTest {
    private static final int PAGES = 40;
    private final byte[] file = new byte[PAGES * PageHash.PAGE_SIZE];

    ReadBackCrcsTest() {
        new Random(3).nextBytes(file);
    }

    private int crcOf(int from, int count) {
        CRC32C c = new CRC32C();
        c.update(file, from * PageHash.PAGE_SIZE, count * PageHash.PAGE_SIZE);
        return (int) c.getValue();
    }

    private ReadBackCrcs allReadBack() {
        ReadBackCrcs r = new ReadBackCrcs();
        for (int p = 0; p < PAGES; p++) r.put(p, crcOf(p, 1));
        return r;
    }

    @Test
    void aRunOfPagesReadBackHasTheCrcOfItsBytes() {
        ReadBackCrcs r = allReadBack();
        assertThat(r.ofRun(0, PAGES)).isEqualTo(crcOf(0, PAGES));
        assertThat(r.ofRun(7, 9)).isEqualTo(crcOf(7, 9));
    }

    @Test
    void aPageWrittenSinceIsNotKnownAndARunOverItIsRefused() {
        ReadBackCrcs r = allReadBack();
        r.forget(10, 12);
        assertThat(r.known(9)).isTrue();
        assertThat(r.known(10)).isFalse();
        assertThat(r.nextUnknown(0)).isEqualTo(10);
        assertThatThrownBy(() -> r.ofRun(8, 4)).isInstanceOf(IllegalStateException.class).hasMessageContaining("page 10");
        r.forgetFrom(30);
        assertThat(r.nextUnknown(12)).isEqualTo(30);
        assertThat(r.ofRun(12, 18)).isEqualTo(crcOf(12, 18));
    }

    @Test
    void aCopyKnowsWhatTheOriginalKnew() {
        ReadBackCrcs r = allReadBack();
        r.forget(5, 6);
        ReadBackCrcs copy = ReadBackCrcs.of(r.crcs(), r.known());
        assertThat(copy.known(5)).isFalse();
        assertThat(copy.ofRun(6, 20)).isEqualTo(crcOf(6, 20));
        r.forget(6, 7); // the copy is its own
        assertThat(copy.known(6)).isTrue();
    }
}
