package org.migrationmesh.agent.migration;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Which containers have their final dump's pages followed: by the anonymous memory of their process. */
class FollowedDumpTest {
    @Test
    void aProcessesAnonymousMemoryIsRead() {
        byte[] held = new byte[8 << 20];
        java.util.Arrays.fill(held, (byte) 1); // touched: resident
        long bytes = MigrationRunner.anonymousBytes((int) ProcessHandle.current().pid());
        assertThat(bytes).as("this JVM's RssAnon").isGreaterThan(held.length);
        assertThat(held[held.length - 1]).isEqualTo((byte) 1);
    }

    @Test
    void aProcessThatIsGoneIsNotFollowed() {
        assertThat(MigrationRunner.anonymousBytes(Integer.MAX_VALUE)).isZero();
        assertThat(MigrationRunner.FOLLOW_FROM_BYTES).as("the game server's 20 MiB are below it").isGreaterThan(20L << 20);
    }
}
