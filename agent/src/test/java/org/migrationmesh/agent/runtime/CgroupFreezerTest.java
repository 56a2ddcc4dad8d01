package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class CgroupFreezerTest {
    private static final Path ROOT = Path.of("/sys/fs/cgroup");

    @Test
    void aV1FreezerControllerIsWhatRuncAndCriuUse() {
        List<String> hybrid = List.of("9:name=systemd:/", "6:freezer:/migration-mesh/stuttgart/game",
                "4:memory:/migration-mesh/stuttgart/game", "0::/");
        assertThat(CgroupFreezer.locate(ROOT, hybrid)).contains(
                new CgroupFreezer.Location(Path.of("/sys/fs/cgroup/freezer/migration-mesh/stuttgart/game"), true));
        assertThat(CgroupFreezer.locate(ROOT, List.of("3:cpu,freezer:/a"))).contains(
                new CgroupFreezer.Location(Path.of("/sys/fs/cgroup/freezer/a"), true));
    }

    @Test
    void aPureV2HostUsesTheUnifiedLine() {
        assertThat(CgroupFreezer.locate(ROOT, List.of("0::/migration-mesh/stuttgart/game"))).contains(
                new CgroupFreezer.Location(Path.of("/sys/fs/cgroup/migration-mesh/stuttgart/game"), false));
    }

    @Test
    void aHybridHostWithoutV1FreezerUsesCgroup2WhereItIsMounted() {
        assertThat(CgroupFreezer.locate(ROOT, List.of("4:memory:/x", "0::/a/b"))).contains(
                new CgroupFreezer.Location(Path.of("/sys/fs/cgroup/unified/a/b"), false));
    }

    @Test
    void noCgroupLinesMeanNoFreezer() {
        assertThat(CgroupFreezer.locate(ROOT, List.of())).isEmpty();
        assertThat(CgroupFreezer.locate(ROOT, List.of("garbage"))).isEmpty();
    }

    @Test
    void readsTheFrozenStateOfBothHierarchies() {
        assertThat(CgroupFreezer.frozen("FROZEN\n", true)).isTrue();
        assertThat(CgroupFreezer.frozen("FREEZING\n", true)).isFalse();
        assertThat(CgroupFreezer.frozen("populated 1\nfrozen 1\n", false)).isTrue();
        assertThat(CgroupFreezer.frozen("populated 1\nfrozen 0\n", false)).isFalse();
        assertThat(CgroupFreezer.frozen("populated 1\n", false)).isFalse();
    }
}
