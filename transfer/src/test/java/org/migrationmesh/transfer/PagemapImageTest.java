package org.migrationmesh.transfer;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PagemapImageTest {
    @Test
    void laysOutPresentPagesInEntryOrder() {
        byte[] img = SyntheticImage.pagemap(7, new long[][] {
                {0x1000, 2, PagemapImage.PE_PRESENT}, {0x9000, 3, 0}, {0x20000, 1, PagemapImage.PE_PRESENT}});
        PagemapImage pm = PagemapImage.parse(img);
        assertThat(pm.pagesId()).isEqualTo(7);
        assertThat(pm.pagesFileName()).isEqualTo("pages-7.img");
        assertThat(pm.entries()).hasSize(3);
        assertThat(pm.pageAddresses(3 * 4096)).get().isEqualTo(new long[] {0x1000, 0x2000, 0x20000});
    }

    @Test
    void parentAndLazyPagesAreNotInThePagesFile() {
        byte[] img = SyntheticImage.pagemap(1, new long[][] {
                {0x1000, 2, PagemapImage.PE_PARENT}, {0x9000, 1, PagemapImage.PE_PRESENT | PagemapImage.PE_LAZY},
                {0x20000, 1, PagemapImage.PE_PRESENT}});
        assertThat(PagemapImage.parse(img).pageAddresses(4096)).get().isEqualTo(new long[] {0x20000});
    }

    @Test
    void criu4CountsPagesInTheWideField() {
        // as CRIU 4.2 writes it: compat_nr_pages = 0, flags = PE_PRESENT|PE_LAZY, nr_pages (field 5) = the count
        byte[] img = SyntheticImage.pagemap(1, new long[][] {
                {0x7f8117c00000L, 0, PagemapImage.PE_PRESENT | PagemapImage.PE_LAZY, 3}, {0x7ffe03da3000L, 0, PagemapImage.PE_PRESENT, 1}});
        assertThat(PagemapImage.parse(img).pageAddresses(4 * 4096)).get()
                .isEqualTo(new long[] {0x7f8117c00000L, 0x7f8117c01000L, 0x7f8117c02000L, 0x7ffe03da3000L});
    }

    @Test
    void eagerPagesLoseTheLazyFlagInEntriesOfTheirOwnAndTheFileOrderStays() {
        int lazy = PagemapImage.PE_PRESENT | PagemapImage.PE_LAZY;
        byte[] img = SyntheticImage.pagemap(1, new long[][] {
                {0x10000, 0, lazy, 5}, {0x7ffe0000L, 0, PagemapImage.PE_PRESENT, 1}, {0x40000, 0, lazy, 2}});
        PagemapImage pm = PagemapImage.parse(img);
        java.util.Set<Long> hot = java.util.Set.of(0x11000L, 0x12000L, 0x14000L, 0x7ffe0000L, 0x99000L);
        PagemapImage eager = pm.withEager(hot::contains);
        assertThat(eager.entries()).containsExactly(
                new PagemapImage.Entry(0x10000, 1, false, lazy),
                new PagemapImage.Entry(0x11000, 2, false, PagemapImage.PE_PRESENT),
                new PagemapImage.Entry(0x13000, 1, false, lazy),
                new PagemapImage.Entry(0x14000, 1, false, PagemapImage.PE_PRESENT),
                new PagemapImage.Entry(0x7ffe0000L, 1, false, PagemapImage.PE_PRESENT),
                new PagemapImage.Entry(0x40000, 2, false, lazy));
        assertThat(eager.pageAddresses(8 * 4096)).get().isEqualTo(pm.pageAddresses(8 * 4096).orElseThrow());
        assertThat(PagemapImage.parse(eager.encode())).isEqualTo(eager);
        assertThat(PagemapImage.parse(pm.encode())).as("re-encoded unchanged").isEqualTo(pm);
        assertThat(pm.withEager(a -> false)).isEqualTo(pm);
    }

    @Test
    void entriesWithoutFlagsUseInParent() {
        byte[] img = SyntheticImage.pagemap(1, new long[][] {{0x1000, 2}});
        assertThat(PagemapImage.parse(img).pageAddresses(2 * 4096)).get().isEqualTo(new long[] {0x1000, 0x2000});
    }

    @Test
    void aPagesFileOfAnotherSizeIsNotGuessedAt() {
        byte[] img = SyntheticImage.pagemap(1, new long[][] {{0x1000, 2, PagemapImage.PE_PRESENT}});
        assertThat(PagemapImage.parse(img).pageAddresses(3 * 4096)).isEmpty();
        assertThat(PagemapImage.parse(img).pageAddresses(4096 + 1)).isEmpty();
    }

    @Test
    void refusesOtherImagesAndTruncation() {
        byte[] img = SyntheticImage.pagemap(1, new long[][] {{0x1000, 2, PagemapImage.PE_PRESENT}});
        byte[] other = img.clone();
        other[4] = 0x11;
        assertThatThrownBy(() -> PagemapImage.parse(other)).hasMessageContaining("not a pagemap image");
        byte[] cut = java.util.Arrays.copyOf(img, img.length - 2);
        assertThatThrownBy(() -> PagemapImage.parse(cut)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void spaceComesFromTheFileName() {
        assertThat(PagemapImage.spaceOf("pagemap-42.img")).contains("42");
        assertThat(PagemapImage.spaceOf("pagemap-shmem-7.img")).contains("shmem-7");
        assertThat(PagemapImage.spaceOf("pages-1.img")).isEmpty();
    }
}
