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
}
