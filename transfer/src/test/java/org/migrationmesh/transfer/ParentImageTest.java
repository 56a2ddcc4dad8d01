package org.migrationmesh.transfer;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** A container coming back to a receiver that kept its last image: over in-process gRPC, with synthetic images. */
class ParentImageTest extends InProcessTransfer {
    @Test
    void aMigrationBackStartsFromTheParentImageAndSendsOnlyWhatChanged() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 21);
        TransferReport first = h.sender().send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        assertThat(first.pagesSent()).isGreaterThan(100);
        long kept = h.receiver.keepAsParent(migration, "game");
        assertThat(kept).isEqualTo(SyntheticImage.PAGES);
        h.receiver.discard(migration);
        assertThat(h.receiver.parentImages()).containsExactly("game");

        SyntheticImage.dirty(src, 4, 22);
        String back = "m-back-" + migration;
        HeldPages held = h.sender().heldPages(back, "game", true, TransferOptions.defaults());
        assertThat(held.pages()).isEqualTo(SyntheticImage.PAGES);
        ImageScan.PagemapLayout layout = ImageScan.of(src, back, 1).layoutOf("pages-1.img").orElseThrow();
        byte[] pages = Files.readAllBytes(src.resolve("pages-1.img"));
        int heldNow = 0;
        for (int i = 0; i < layout.vaddrs().length; i++) {
            if (held.holds(layout.space(), layout.vaddrs()[i], PageHash.of(pages, i * 4096))) heldNow++;
        }
        assertThat(heldNow).isBetween(SyntheticImage.PAGES - 4, SyntheticImage.PAGES - 1);
        // asked again (a retried call), the same answer, and the pages are not put twice
        assertThat(h.sender().heldPages(back, "game", true, TransferOptions.defaults()).pages()).isEqualTo(SyntheticImage.PAGES);

        TransferReport again = h.sender().send(back, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        TransferHarness.assertSameTree(src, Path.of(again.receiverImageDir()));
        assertThat(again.pagesSent()).isBetween(1L, 4L);
        assertThat(again.wireBytes()).isLessThan(first.wireBytes() / 4);
    }

    @Test
    void withoutAParentNothingIsHeldAndADamagedOneIsDropped() throws Exception {
        assertThat(h.sender().heldPages(migration, "never-here", true, TransferOptions.defaults()).pages()).isZero();

        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 23);
        h.sender().send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        h.receiver.keepAsParent(migration, "game");
        Path pagesFile = tmp.resolve("receiver/.parents/game/1.pages");
        assertThat(pagesFile).exists();
        Files.write(pagesFile, Arrays.copyOf(Files.readAllBytes(pagesFile), 4096)); // cut short
        assertThat(h.sender().heldPages("m-other", "game", true, TransferOptions.defaults()).pages()).isZero();
        assertThat(h.receiver.parentImages()).isEmpty();
    }

    @Test
    void keepingAgainReplacesTheParentImage() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 24);
        h.sender().send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        h.receiver.keepAsParent(migration, "game");
        h.receiver.discard(migration);
        SyntheticImage.dirty(src, 30, 25);
        String second = "m-second-" + migration;
        h.sender().send(second, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        h.receiver.keepAsParent(second, "game");

        ImageScan.PagemapLayout layout = ImageScan.of(src, "m-third", 1).layoutOf("pages-1.img").orElseThrow();
        byte[] pages = Files.readAllBytes(src.resolve("pages-1.img"));
        HeldPages held = h.sender().heldPages("m-third", "game", true, TransferOptions.defaults());
        for (int i = 0; i < layout.vaddrs().length; i++) {
            assertThat(held.holds(layout.space(), layout.vaddrs()[i], PageHash.of(pages, i * 4096))).as("page %d", i).isTrue();
        }
        try (var dirs = Files.list(tmp.resolve("receiver/.parents"))) {
            assertThat(dirs.map(p -> p.getFileName().toString())).containsExactly("game");
        }
        h.receiver.dropParentImage("game");
        assertThat(h.receiver.parentImages()).isEmpty();
    }
}
