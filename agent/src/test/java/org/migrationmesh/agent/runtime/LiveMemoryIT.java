package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.security.MessageDigest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Reading a running container's memory without stopping it. */
class LiveMemoryIT {
    private RuntimeFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new RuntimeFixture("lm");
    }

    @AfterEach
    void tearDown() {
        if (fx != null) fx.close();
    }

    @Test
    void readsEveryResidentPageAndSeesOnlyTheDirtiedOnesChange() throws Exception {
        String id = "live-" + fx.net.prefix();
        // 32 MB, 50 pages rewritten per second.
        fx.runcA.run(id, fx.bundle(fx.a, id, "memhog", List.of("/bin/memhog", "32", "50")));
        List<Integer> pids = fx.runcA.ps(id);
        assertThat(pids).hasSize(1);
        int pid = pids.get(0);
        assertThat(LiveMemory.namespacePid(pid)).as("pid 1 inside the container's pid namespace").isEqualTo(1);
        CheckpointRestoreIT.waitFor(() -> rssKb(pid) >= 32 * 1000, java.time.Duration.ofSeconds(20), "memory filled");

        Map<Long, String> first = hashes(pid);
        Thread.sleep(1000);
        Map<Long, String> second = hashes(pid);
        assertThat(first.size()).as("every resident page of the 32 MB was read").isGreaterThanOrEqualTo(32 * 256);
        long changed = first.entrySet().stream().filter(e -> !e.getValue().equals(second.get(e.getKey()))).count();
        // ~1 s at 50 pages/s: a few dozen changed pages, far from all 8192.
        assertThat(changed).as("pages changed between two live reads").isBetween(10L, 500L);
        assertThat(fx.runcA.state(id).running()).as("reading did not stop the container").isTrue();
    }

    @Test
    void readsThePagesTheDumpWrites() throws Exception {
        String id = "same-" + fx.net.prefix();
        // No page rewritten: what the live read sees is what the dump writes a moment later.
        fx.runcA.run(id, fx.bundle(fx.a, id, "memhog", List.of("/bin/memhog", "8", "0")));
        int pid = fx.runcA.ps(id).get(0);
        CheckpointRestoreIT.waitFor(() -> rssKb(pid) >= 8 * 1000, java.time.Duration.ofSeconds(20), "memory filled");
        java.util.List<Long> live = new java.util.ArrayList<>();
        LiveMemory.read(pid, (vaddr, content) -> {
            for (long a = vaddr; a < vaddr + content.remaining(); a += LiveMemory.PAGE_SIZE) live.add(a);
        });
        long[] addresses = LiveMemory.addresses(pid);

        java.nio.file.Path images = fx.dir.resolve("same-images");
        fx.runcA.checkpoint(id, CheckpointOptions.stopAndCopy(images, fx.dir.resolve("same-work")).withLeaveRunning(true));
        java.nio.file.Path pagemap = images.resolve("pagemap-1.img");
        org.migrationmesh.transfer.PagemapImage image = org.migrationmesh.transfer.PagemapImage.parse(java.nio.file.Files.readAllBytes(pagemap));
        long[] dumped = image.pageAddresses(java.nio.file.Files.size(images.resolve(image.pagesFileName()))).orElseThrow();

        // memhog reads 32 pages it never wrote (the zero page): read live before, never dumped.
        assertThat(live).as("pages read live, in address order, are the dump's pages file's")
                .containsExactly(java.util.Arrays.stream(dumped).boxed().toArray(Long[]::new));
        assertThat(addresses).as("the addresses alone, from the page tables: the same, in the same order").containsExactly(dumped);
    }

    private static Map<Long, String> hashes(int pid) throws Exception {
        Map<Long, String> out = new HashMap<>();
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        LiveMemory.read(pid, (vaddr, content) -> {
            byte[] page = new byte[LiveMemory.PAGE_SIZE];
            for (long a = vaddr; content.hasRemaining(); a += LiveMemory.PAGE_SIZE) {
                content.get(page);
                out.put(a, java.util.HexFormat.of().formatHex(sha.digest(page)));
            }
        });
        return out;
    }

    /** The resident memory of {@code pid} in kB; 0 if it is gone. */
    static long rssKb(int pid) {
        try {
            for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc", Integer.toString(pid), "status"))) {
                if (l.startsWith("VmRSS:")) return Long.parseLong(l.replaceAll("\\D", ""));
            }
        } catch (java.io.IOException e) {
            return 0;
        }
        return 0;
    }

}
