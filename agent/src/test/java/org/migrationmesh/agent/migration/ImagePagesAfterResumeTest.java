package org.migrationmesh.agent.migration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.migrationmesh.agent.runtime.Criu;
import org.migrationmesh.agent.runtime.ProcessCommandRunner;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.migrationmesh.transfer.PagemapImage;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The decision whether a restore runs the tasks before their memory, and the process trees it
 * rests on. The daemon itself (real CRIU) is LazyRestoreIT's and MigrationIT's; here the work
 * that would start it is only collected, never run.
 */
class ImagePagesAfterResumeTest {
    @TempDir
    Path dir;
    private final List<Runnable> starts = new ArrayList<>();

    private ImagePagesAfterResume pages() {
        return new ImagePagesAfterResume(new Criu(Path.of("/nonexistent/criu"), new ProcessCommandRunner()),
                dir.resolve("trees"), starts::add);
    }

    private Path image(String pstree) throws Exception {
        Path images = Files.createDirectories(dir.resolve("image-" + pstree));
        Files.writeString(images.resolve("inventory.img"), "inventory");
        Files.writeString(images.resolve("pstree.img"), pstree);
        Files.writeString(images.resolve("pages-1.img"), "pages");
        return images;
    }

    @Test
    void aContainerNeverRestoredHereIsRestoredWithEveryPageCopied() {
        ImagePagesAfterResume p = pages();
        assertThat(p.startAhead("m1", "game", dir.resolve("lazy"), dir.resolve("work"))).isFalse();
        assertThat(p.lazy("m1")).isFalse();
        assertThat(starts).as("no daemon started").isEmpty();
    }

    @Test
    void aKeptProcessTreeStartsTheDaemonOncePerMigration() throws Exception {
        ImagePagesAfterResume p = pages();
        p.keepTree("game", image("tree-1"));
        assertThat(Files.readString(dir.resolve("trees/game/pstree.img"))).isEqualTo("tree-1");
        assertThat(dir.resolve("trees/game/pages-1.img")).as("only the process tree is kept").doesNotExist();

        assertThat(p.startAhead("m1", "game", dir.resolve("lazy"), dir.resolve("work"))).isTrue();
        assertThat(p.startAhead("m1", "game", dir.resolve("lazy"), dir.resolve("work"))).isTrue();
        assertThat(p.lazy("m1")).isTrue();
        assertThat(starts).as("one daemon for the migration").hasSize(1);
        assertThat(p.lazy("m2")).as("another migration is not decided yet").isFalse();
    }

    @Test
    void theDecisionStandsOnceMadeSinceRuncStartedWithIt() throws Exception {
        ImagePagesAfterResume p = pages();
        assertThat(p.startAhead("m1", "game", dir.resolve("lazy"), dir.resolve("work"))).isFalse();
        p.keepTree("game", image("tree-1")); // e.g. another migration of it ended here meanwhile
        assertThat(p.startAhead("m1", "game", dir.resolve("lazy"), dir.resolve("work"))).isFalse();
        assertThat(p.lazy("m1")).isFalse();
        assertThat(starts).isEmpty();
    }

    @Test
    void aNewerTreeReplacesTheOldAndEndedMigrationsAreForgotten() throws Exception {
        ImagePagesAfterResume p = pages();
        p.keepTree("game", image("tree-1"));
        p.keepTree("game", image("tree-2"));
        assertThat(Files.readString(dir.resolve("trees/game/pstree.img"))).isEqualTo("tree-2");
        try (var left = Files.list(dir.resolve("trees"))) {
            assertThat(left.map(f -> f.getFileName().toString()).toList()).containsExactly("game");
        }
        p.startAhead("m1", "game", dir.resolve("lazy"), dir.resolve("work"));
        p.retain(id -> !id.equals("m1"));
        assertThat(p.lazy("m1")).isFalse();

        p.dropTree("game");
        assertThat(dir.resolve("trees/game")).doesNotExist();
        assertThat(p.startAhead("m3", "game", dir.resolve("lazy"), dir.resolve("work"))).isFalse();
    }

    @Test
    void theNextRestoreCopiesInThePagesTheLastFaultedOnInTheDaemonsAndTheRestoresPagemapOnly() throws Exception {
        int lazy = PagemapImage.PE_PRESENT | PagemapImage.PE_LAZY;
        Path published = Files.createDirectories(dir.resolve("published"));
        byte[] original = new PagemapImage(1, List.of(new PagemapImage.Entry(0x10000, 4, false, lazy))).encode();
        Files.write(published.resolve("pagemap-1.img"), original);
        Path daemon = Files.createDirectories(dir.resolve("daemon")), restore = Files.createDirectories(dir.resolve("restore"));
        for (Path d : List.of(daemon, restore)) Files.createLink(d.resolve("pagemap-1.img"), published.resolve("pagemap-1.img"));
        ImagePagesAfterResume p = pages();
        assertThat(p.prefetch("game", published, List.of(daemon, restore))).as("no restore faulted yet").isZero();

        p.rememberFaults("game", Map.of("1", new long[] {0x11000, 0x99000}));
        p.rememberFaults("game", Map.of("1", new long[] {0x13000})); // 0x11000 was copied in: no fault, still kept
        assertThat(p.prefetch("game", published, List.of(daemon, restore))).isEqualTo(2);

        List<PagemapImage.Entry> expected = List.of(new PagemapImage.Entry(0x10000, 1, false, lazy),
                new PagemapImage.Entry(0x11000, 1, false, PagemapImage.PE_PRESENT), new PagemapImage.Entry(0x12000, 1, false, lazy),
                new PagemapImage.Entry(0x13000, 1, false, PagemapImage.PE_PRESENT));
        for (Path d : List.of(daemon, restore)) {
            assertThat(PagemapImage.parse(Files.readAllBytes(d.resolve("pagemap-1.img"))).entries()).isEqualTo(expected);
            assertThat(d).isDirectoryNotContaining("glob:**.eager");
        }
        assertThat(Files.readAllBytes(published.resolve("pagemap-1.img"))).as("the published image stays").isEqualTo(original);
        assertThat(p.prefetch("other", published, List.of(daemon, restore))).as("another container's faults").isZero();
    }

}
