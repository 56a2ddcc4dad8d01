package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class EpochFenceTest {
    private final FloatingAddress ip = FloatingAddress.parse("10.0.0.9/24");

    @Test
    void refusesALowerEpochWithExpectedAndActual() {
        EpochFence fence = new EpochFence();
        fence.admit(ip, 7);
        assertThatThrownBy(() -> fence.admit(ip, 6))
                .isInstanceOfSatisfying(FloatingIpException.StaleEpoch.class, e -> {
                    assertThat(e.expectedAtLeast()).isEqualTo(7);
                    assertThat(e.actual()).isEqualTo(6);
                    assertThat(e.address()).isEqualTo(ip);
                });
        assertThat(fence.highest(ip)).hasValue(7);
    }

    @Test
    void admitsRetriesAndHigherEpochs() {
        EpochFence fence = new EpochFence();
        fence.admit(ip, 3);
        fence.admit(ip, 3);
        fence.admit(ip, 9);
        assertThat(fence.highest(ip)).hasValue(9);
    }

    @Test
    void addressesAreFencedIndependently() {
        EpochFence fence = new EpochFence();
        fence.admit(ip, 9);
        FloatingAddress other = FloatingAddress.parse("10.0.0.10/24");
        fence.admit(other, 1);
        assertThat(fence.highest(other)).hasValue(1);
    }
}
