package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class LeaseTest {
    private final MutableClock clock = new MutableClock();
    private final Lease lease = new Lease(clock, Duration.ofMillis(500));

    @Test
    void notHeldBeforeTheFirstConfirmation() {
        assertThat(lease.isHeld()).isFalse();
        assertThat(lease.expiresAt()).isEmpty();
    }

    @Test
    void expiresAfterItsDurationWithoutContact() {
        lease.confirm();
        clock.advance(Duration.ofMillis(499));
        assertThat(lease.isHeld()).isTrue();
        clock.advance(Duration.ofMillis(1));
        assertThat(lease.isHeld()).isFalse();
        assertThat(lease.silence()).hasValue(Duration.ofMillis(500));
        assertThat(lease.describe()).startsWith("expired");
    }

    @Test
    void eachConfirmationRenewsIt() {
        lease.confirm();
        for (int i = 0; i < 10; i++) {
            clock.advance(Duration.ofMillis(400));
            lease.confirm();
        }
        assertThat(lease.isHeld()).isTrue();
        assertThat(lease.expiresAt()).hasValue(clock.instant().plusMillis(500));
    }
}
