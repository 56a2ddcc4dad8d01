package org.migrationmesh.transfer;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;

class PageHashTest {
    private static byte[] pages(int n, long seed) {
        byte[] b = new byte[n * PageHash.PAGE_SIZE];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void everyChangeOfOneBitOrOneWordChangesTheDigest() {
        byte[] page = pages(1, 2);
        long digest = PageHash.of(page, 0);
        Set<Long> seen = new HashSet<>();
        seen.add(digest);
        for (int bit = 0; bit < PageHash.PAGE_SIZE * 8; bit++) {
            page[bit / 8] ^= (byte) (1 << (bit % 8));
            assertThat(seen.add(PageHash.of(page, 0))).as("bit %d flipped", bit).isTrue();
            page[bit / 8] ^= (byte) (1 << (bit % 8));
        }
        Random r = new Random(3);
        for (int word = 0; word < PageHash.PAGE_SIZE / 8; word++) { // a counter or a pointer rewritten
            byte[] changed = page.clone();
            for (int k = 0; k < 8; k++) changed[word * 8 + k] = (byte) r.nextInt();
            assertThat(PageHash.of(changed, 0)).as("word %d rewritten", word).isNotEqualTo(digest);
        }
        assertThat(PageHash.of(page, 0)).isEqualTo(digest);
    }

    @Test
    void swappingThePagesHalvesChangesTheDigestAndItsLowHalfIsTheSwappedPagesCrc32c() {
        byte[] page = pages(1, 4);
        byte[] swapped = new byte[PageHash.PAGE_SIZE];
        System.arraycopy(page, 2048, swapped, 0, 2048);
        System.arraycopy(page, 0, swapped, 2048, 2048);
        assertThat(PageHash.of(swapped, 0)).isNotEqualTo(PageHash.of(page, 0));
        // the low half is the CRC32C of the swapped page: not the chunk check's CRC32C of the page itself
        CRC32C c = new CRC32C();
        c.update(page);
        assertThat((int) PageHash.of(page, 0)).isNotEqualTo((int) c.getValue());
        assertThat(PageHash.of(page, 0) & 0xFFFFFFFFL).isEqualTo(crc32c(swapped));
    }

    private static long crc32c(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b);
        return c.getValue();
    }
}
