package org.migrationmesh.transfer;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import java.util.function.IntFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HeldDigestsTest {
    @Test
    void digestsLeftOutAsHeldComeBackFromTheReceiversOwn() {
        Random r = new Random(7);
        for (int trial = 0; trial < 200; trial++) {
            int n = r.nextInt(40), first = r.nextInt(10);
            long[] digests = r.longs(first + n).toArray();
            boolean[] held = new boolean[first + n];
            double p = r.nextDouble();
            for (int i = 0; i < held.length; i++) held[i] = r.nextDouble() < p;
            HeldDigests.Slice s = HeldDigests.leaveOut(digests, first, n, page -> held[page]);
            int leftOut = 0;
            for (int i = first; i < first + n; i++) if (held[i]) leftOut++;
            assertThat(s.leftOut()).isEqualTo(leftOut);
            assertThat(s.carried()).hasSize(n - leftOut);
            if (leftOut == 0) assertThat(s.runs()).isEmpty();
            IntFunction<OptionalLong> receiver = page -> held[first + page] ? OptionalLong.of(digests[first + page]) : OptionalLong.empty();
            long[] back = HeldDigests.fillIn(box(s.runs()), s.carried(), s.check(), n, receiver).orElseThrow();
            assertThat(back).containsExactly(Arrays.copyOfRange(digests, first, first + n));
        }
    }

    @Test
    void aHeldPageTheReceiverLacksOrHoldsOtherwiseIsNotTakenForTheSendersPage() {
        long[] digests = {11, 12, 13, 14, 15, 16};
        HeldDigests.Slice s = HeldDigests.leaveOut(digests, 0, 6, page -> page >= 1 && page <= 3 || page == 5);
        assertThat(s.runs()).containsExactly(1, 3, 1, 1);
        assertThat(s.carried()).containsExactly(11, 15);
        long[] own = digests.clone();
        assertThat(HeldDigests.fillIn(box(s.runs()), s.carried(), s.check(), 6, page -> OptionalLong.of(own[page])))
                .hasValueSatisfying(d -> assertThat(d).containsExactly(digests));
        own[2] = 99; // holds that page with other content
        assertThat(HeldDigests.fillIn(box(s.runs()), s.carried(), s.check(), 6, page -> OptionalLong.of(own[page]))).isEmpty();
        assertThat(HeldDigests.fillIn(box(s.runs()), s.carried(), s.check(), 6,
                page -> page == 5 ? OptionalLong.empty() : OptionalLong.of(digests[page]))).isEmpty();
    }

    @Test
    void runsThatDoNotFitTheCarriedDigestsOrTheSliceAreRefused() {
        IntFunction<OptionalLong> any = page -> OptionalLong.of(1);
        assertThatThrownBy(() -> HeldDigests.fillIn(List.of(3, 1), new long[2], 0, 10, any)).hasMessageContaining("3 carried pages");
        assertThatThrownBy(() -> HeldDigests.fillIn(List.of(0, -1), new long[0], 0, 10, any)).hasMessageContaining("negative");
        assertThatThrownBy(() -> HeldDigests.fillIn(List.of(0, 2_000_000_000), new long[0], 0, 5000, any))
                .hasMessageContaining("at most 5000");
    }

    private static List<Integer> box(int[] a) {
        return Arrays.stream(a).boxed().toList();
    }
}
