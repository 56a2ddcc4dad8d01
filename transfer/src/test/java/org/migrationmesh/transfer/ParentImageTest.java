package org.migrationmesh.transfer;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

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
    void theDumpOfAContainerLeavingBecomesItsParentImageAndOutlivesTheDump() throws Exception {
        Path dump = tmp.resolve("dump");
        SyntheticImage.write(dump, 41);
        assertThat(h.receiver.keepDumpAsParent("game", dump)).isEqualTo(SyntheticImage.PAGES);
        Path src = tmp.resolve("src"); // the container as it comes back: a few pages rewritten since it left
        SyntheticImage.write(src, 41);
        SyntheticImage.dirty(src, 3, 42);
        MigrationImages.deleteTree(dump); // the agent removes the migration's files once it ended
        assertThat(h.receiver.parentImages()).containsExactly("game");

        String back = "m-back-" + migration;
        assertThat(h.sender().heldPages(back, "game", true, TransferOptions.defaults()).pages()).isEqualTo(SyntheticImage.PAGES);
        TransferReport again = h.sender().send(back, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        TransferHarness.assertSameTree(src, Path.of(again.receiverImageDir()));
        assertThat(again.pagesSent()).isBetween(1L, 3L);
    }

    @Test
    void aDirectoryWithoutAPagemapKeepsNothing() throws Exception {
        Path dump = tmp.resolve("dump");
        SyntheticImage.write(dump, 43);
        try (var files = Files.list(dump)) {
            for (Path f : files.filter(f -> f.getFileName().toString().startsWith("pagemap-")).toList()) Files.delete(f);
        }
        assertThat(h.receiver.keepDumpAsParent("game", dump)).isZero();
        assertThat(h.receiver.parentImages()).isEmpty();
    }

    @Test
    void aRevisitsFewPagesGoAtTheFastLevelInTheDowntime() throws Exception {
        Path src = migratedAwayAndKeptAsParent(31);
        Path file = src.resolve("pages-1.img");
        byte[] pages = Files.readAllBytes(file);
        // 40 pages of game-like state rewritten: small numbers in records, compressible, as a server's are
        java.util.Random r = new java.util.Random(32);
        java.io.ByteArrayOutputStream sent = new java.io.ByteArrayOutputStream();
        for (int page = 180; page < 220; page++) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(pages, page * 4096, 4096).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            while (b.remaining() >= 16) b.putInt(page).putInt(r.nextInt(64)).putFloat(r.nextInt(1000) / 8f).putInt(0);
            sent.write(pages, page * 4096, 4096);
        }
        Files.write(file, pages);

        String id = "m-back-" + migration;
        h.sender().heldPages(id, "game", true, TransferOptions.defaults()); // starts it from the parent image
        TransferReport back = h.sender().send(id, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        TransferHarness.assertSameTree(src, Path.of(back.receiverImageDir()));
        assertThat(back.pagesSent()).isEqualTo(40);
        byte[] data = sent.toByteArray();
        int fast = ChunkCodec.encode(data, 0, data.length, true).bytes().size();
        int dense = ChunkCodec.encodeDense(data, 0, data.length, true).bytes().size();
        assertThat(dense).as("the dense level would save bytes on such pages").isLessThan(fast);
        assertThat(back.payloadBytes()).as("sent at the fast level: a frozen image's time counts more than its bytes")
                .isEqualTo(fast);
    }

    /** A synthetic image (seed {@code seed}) sent to the receiver as {@link #migration}, whose pages it keeps as container "game"'s parent. */
    private Path migratedAwayAndKeptAsParent(int seed) throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, seed);
        h.sender().send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        h.receiver.keepAsParent(migration, "game");
        h.receiver.discard(migration);
        return src;
    }

    @Test
    void liveRoundsOfARevisitLayTheHeldPagesAmongTheSentOnesInFileOrder() throws Exception {
        String back = revisitWithALiveRound(-1);
        assertThat(yieldedInPlace(back)).as("the live file lies as the pages file: taken in place, nothing to copy")
                .isEqualTo(liveLayout.vaddrs().length);
        assertThat(Files.readAllBytes(tmp.resolve("laid-out.img"))).isEqualTo(livePages);
    }

    @Test
    void aHeldRunWhoseCopiesDifferFromTheSourcesIsForgotten() throws Exception {
        // The source took page 0 for held on the low bits of its digest, but the copy here differs (the
        // source's digest is changed below to stand for that): the run is forgotten, its places left empty.
        String back = revisitWithALiveRound(0);
        PageKey first = new PageKey(liveLayout.space(), liveLayout.vaddrs()[0]);
        assertThat(h.receiver.pageStore(back).digestOf(first)).as("no copy taken for the process's page").isEmpty();
        int inPlace = yieldedInPlace(back);
        assertThat(inPlace).isLessThan(liveLayout.vaddrs().length).isGreaterThan(liveLayout.vaddrs().length / 2);
        byte[] laid = Files.readAllBytes(tmp.resolve("laid-out.img"));
        assertThat(Arrays.copyOfRange(laid, 0, 4096)).as("its place is empty, for the final image").isEqualTo(new byte[4096]);
    }

    @Test
    void pagesLeftForTheFinalImageKeepTheirPlacesInTheLiveFile() throws Exception {
        for (boolean revisit : new boolean[] {false, true}) {
            migration = "m-hot-" + revisit;
            Path src = revisit ? migratedAwayAndKeptAsParent(51) : tmp.resolve("src-first");
            if (!revisit) SyntheticImage.write(src, 51);
            SyntheticImage.dirty(src, 4, 52);
            String id = revisit ? "m-back-" + migration : migration;
            HeldPages held = revisit ? h.sender().heldPages(id, "game", true, TransferOptions.defaults()) : HeldPages.NONE;
            liveLayout = ImageScan.of(src, id, 1).layoutOf("pages-1.img").orElseThrow();
            livePages = Files.readAllBytes(src.resolve("pages-1.img"));
            long[] vaddrs = liveLayout.vaddrs();
            java.util.Set<Integer> hot = java.util.Set.of(0, 5, 6, 100, vaddrs.length - 1);
            long[] sent = new long[vaddrs.length], kept = new long[vaddrs.length], keptDigests = new long[vaddrs.length];
            long[] left = new long[hot.size()];
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            int s = 0, k = 0, l = 0;
            for (int i = 0; i < vaddrs.length; i++) {
                long digest = PageHash.of(livePages, i * 4096);
                if (hot.contains(i)) {
                    left[l++] = vaddrs[i];
                } else if (held.holds(liveLayout.space(), vaddrs[i], digest)) {
                    keptDigests[k] = digest;
                    kept[k++] = vaddrs[i];
                } else {
                    sent[s++] = vaddrs[i];
                    bytes.write(livePages, i * 4096, 4096);
                }
            }
            h.sender().sendLivePages(id, liveLayout.space(), Arrays.copyOf(sent, s), bytes.toByteArray(), null,
                    Arrays.copyOf(kept, k), Arrays.copyOf(keptDigests, k), left, TransferOptions.defaults());
            if (revisit) assertThat(k).as("pages held from the parent").isGreaterThan(vaddrs.length / 2);
            for (int i : hot) {
                if (revisit) continue; // there the parent's copy may fill the place
                assertThat(h.receiver.pageStore(id).digestOf(new PageKey(liveLayout.space(), vaddrs[i])))
                        .as("page " + i + " is not sent ahead").isEmpty();
            }
            assertThat(yieldedInPlace(id)).as("every other page in place (revisit " + revisit + ")")
                    .isGreaterThanOrEqualTo(vaddrs.length - hot.size());
            byte[] laid = Files.readAllBytes(tmp.resolve("laid-out.img"));
            for (int i = 0; i < vaddrs.length; i++) {
                if (hot.contains(i)) continue;
                assertThat(Arrays.copyOfRange(laid, i * 4096, (i + 1) * 4096)).as("page " + i)
                        .isEqualTo(Arrays.copyOfRange(livePages, i * 4096, (i + 1) * 4096));
            }
            if (!revisit) {
                assertThat(Arrays.copyOfRange(laid, 5 * 4096, 6 * 4096)).as("an empty place, for the final image")
                        .isEqualTo(new byte[4096]);
            }
        }
    }

    private ImageScan.PagemapLayout liveLayout;
    private byte[] livePages;

    /**
     * Moves a synthetic image back to the receiver that kept it, as one live round in three batches
     * (the pages the receiver lacks, and the others named as held, by address, with their digests);
     * with {@code wrongDigestAt} >= 0, the source's digest of that page, if held, is changed.
     */
    private String revisitWithALiveRound(int wrongDigestAt) throws Exception {
        Path src = migratedAwayAndKeptAsParent(41);
        SyntheticImage.dirty(src, 4, 42);
        String back = "m-back-" + migration;
        HeldPages held = h.sender().heldPages(back, "game", true, TransferOptions.defaults());
        liveLayout = ImageScan.of(src, back, 1).layoutOf("pages-1.img").orElseThrow();
        livePages = Files.readAllBytes(src.resolve("pages-1.img"));
        long[] vaddrs = liveLayout.vaddrs();
        int batch = vaddrs.length / 3;
        for (int from = 0; from < vaddrs.length; from += batch) {
            int to = Math.min(vaddrs.length, from + batch);
            long[] sent = new long[to - from];
            long[] kept = new long[to - from];
            long[] keptDigests = new long[to - from];
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            int s = 0;
            int k = 0;
            for (int i = from; i < to; i++) {
                long digest = PageHash.of(livePages, i * 4096);
                if (held.holds(liveLayout.space(), vaddrs[i], digest)) {
                    keptDigests[k] = i == wrongDigestAt ? digest ^ (1L << 40) : digest;
                    kept[k++] = vaddrs[i];
                } else {
                    sent[s++] = vaddrs[i];
                    bytes.write(livePages, i * 4096, 4096);
                }
            }
            h.sender().sendLivePages(back, liveLayout.space(), Arrays.copyOf(sent, s), bytes.toByteArray(), null,
                    Arrays.copyOf(kept, k), Arrays.copyOf(keptDigests, k), TransferOptions.defaults());
        }
        return back;
    }

    /** Pages the receiver's live file of {@link #liveLayout} gives in place to a pages file at laid-out.img. */
    private int yieldedInPlace(String migrationId) {
        long[] digests = new long[liveLayout.vaddrs().length];
        for (int i = 0; i < digests.length; i++) digests[i] = PageHash.of(livePages, i * 4096);
        return h.receiver.pageStore(migrationId).yieldLiveFile(liveLayout.space(), liveLayout.vaddrs(), digests,
                tmp.resolve("laid-out.img")).orElseThrow().inPlace().cardinality();
    }

    @Test
    void parentPagesStayHeldWhenARoundIsPublishedAndArePassedOnLinkedNotCopied() throws Exception {
        byte[] pages = new byte[4 * 4096];
        new java.util.Random(31).nextBytes(pages);
        Path parentFile = tmp.resolve("parent.pages");
        Files.write(parentFile, pages);
        Path roundFile = tmp.resolve("round.pages");
        Files.write(roundFile, java.util.Arrays.copyOf(pages, 4096));
        try (FilePageStore store = new FilePageStore(tmp.resolve("store"))) {
            Files.createDirectories(tmp.resolve("store"));
            long[][] taken = store.adoptParent(parentFile, "7", new long[] {0x1000, -1, 0x3000, 0x4000});
            assertThat(taken[0]).containsExactly(0x1000, 0x3000, 0x4000);
            assertThat(taken[1][1]).isEqualTo(PageHash.of(pages, 2 * 4096));
            // a lazy round's image holds few pages: publishing it must not drop the parent's
            store.adoptRound(1, roundFile, "7", new long[] {0x9000}, new long[] {PageHash.of(pages, 0)});
            assertThat(store.holds(new PageKey("7", 0x3000), PageHash.of(pages, 2 * 4096))).isTrue();
            store.putLive(new PageKey("7", 0x4000), new byte[4096], 0);
            assertThat(store.holds(new PageKey("7", 0x4000), PageHash.ZERO)).as("sent live later: replaced").isTrue();
            assertThat(Files.readAllBytes(parentFile)).as("never written").isEqualTo(pages);
            List<FilePageStore.HeldFile> files = store.heldFiles();
            FilePageStore.HeldFile parent = files.stream().filter(f -> f.path().equals(parentFile)).findFirst().orElseThrow();
            assertThat(parent.vaddrs()).containsExactly(0x1000, -1, 0x3000, -1);

            long n = new ParentImages(tmp.resolve("parents")).keep("c", store);
            assertThat(n).isEqualTo(4); // 0x1000, 0x3000 from the parent, 0x4000 live, 0x9000 from the round
            try (var linked = Files.list(tmp.resolve("parents/c"))) {
                for (Path p : linked.filter(p -> p.toString().endsWith(".pages")).toList()) {
                    assertThat((int) Files.getAttribute(p, "unix:nlink")).as(p.toString()).isGreaterThan(1);
                }
            }
        }
    }

    @Test
    void withoutAParentNothingIsHeldAndADamagedOneIsDropped() throws Exception {
        assertThat(h.sender().heldPages(migration, "never-here", true, TransferOptions.defaults()).pages()).isZero();

        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 23);
        h.sender().send(migration, 1, src, TransferOptions.defaults(), TransferListener.NONE);
        h.receiver.keepAsParent(migration, "game");
        Path pagesFile = tmp.resolve("receiver/.parents/game/1-0.pages");
        assertThat(pagesFile).exists();
        Files.write(pagesFile, Arrays.copyOf(Files.readAllBytes(pagesFile), 4096)); // cut short
        assertThat(h.sender().heldPages("m-other", "game", true, TransferOptions.defaults()).pages()).isZero();
        assertThat(h.receiver.parentImages()).isEmpty();
    }

    @Test
    void keepingAgainReplacesTheParentImage() throws Exception {
        Path src = migratedAwayAndKeptAsParent(24);
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
