package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class CriuConfigTest {
    @Test
    void skipsTheNetworkLockOnlyWhenAsked() {
        assertThat(new CriuConfig(Path.of("/x/mmfreeze"), false).text())
                .contains("action-script /x/mmfreeze\n").contains("network-lock skip\n");
        assertThat(new CriuConfig(Path.of("/x/mmfreeze"), true).text())
                .contains("action-script /x/mmfreeze\n").doesNotContain("network-lock");
        assertThat(new CriuConfig(null, true).text()).doesNotContain("action-script");
    }

    @Test
    void leavesCgroupsToRunc() {
        assertThat(new CriuConfig(null, true).text()).contains("manage-cgroups=ignore\n");
        assertThat(new CriuConfig(Path.of("/x/mmfreeze"), false, Path.of("/run/mm/masked")).text()).contains("manage-cgroups=ignore\n");
    }

    @Test
    void masksTravelAsExternalMountsBothWaysOnlyWithAnEmptyDirectory() {
        String text = new CriuConfig(null, false, Path.of("/run/mm/masked")).text();
        assertThat(text).contains("external mnt[/proc/acpi]:mm-mask-proc-acpi\n")
                .contains("external mnt[mm-mask-proc-acpi]:/run/mm/masked\n")
                .contains("external mnt[/sys/firmware]:mm-mask-sys-firmware\n")
                .contains("external mnt[mm-mask-sys-firmware]:/run/mm/masked\n");
        assertThat(new CriuConfig(null, false).text()).doesNotContain("external");
    }

    @Test
    void theMaskSourceIsTheTopmostMountAtItsPlaceAndReadOnlyAsAFileSystem() {
        String ro = "812 29 0:95 / /run/migration-mesh/masked rw,nosuid,nodev,noexec,relatime - tmpfs migration-mesh-masked ro,size=4k,nr_inodes=2,mode=555\n";
        String rwOver = "813 812 0:96 / /run/migration-mesh/masked rw,relatime - tmpfs tmpfs rw,size=4k\n";
        String other = "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n";
        Path at = Path.of("/run/migration-mesh/masked");
        assertThat(MaskSource.mountedReadOnlyTmpfs(other + ro, at)).isTrue();
        assertThat(MaskSource.mountedReadOnlyTmpfs(other + ro + rwOver, at)).as("a writable tmpfs over it").isFalse();
        assertThat(MaskSource.mountedReadOnlyTmpfs(other, at)).isFalse();
        assertThat(MaskSource.mountedReadOnlyTmpfs(other + ro, Path.of("/run/migration-mesh"))).isFalse();
    }
}
