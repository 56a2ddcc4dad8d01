package org.migrationmesh.agent.tour;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClientViewTest {
    /** Replies every 20 ms from {@code from} to {@code to}, skipping [gapFrom, gapTo), counter = ms / 100. */
    private static List<ClientView.Reply> replies(long from, long to, long gapFrom, long gapTo, String identity, boolean seq) {
        List<ClientView.Reply> out = new ArrayList<>();
        for (long t = from; t <= to; t += 20) {
            if (t >= gapFrom && t < gapTo) continue;
            out.add(new ClientView.Reply(t + 3, seq ? t / 20 : -1, t / 100, identity));
        }
        return out;
    }

    @Test
    void theLongestSilenceAndTheLostRequestsOfTheWindow() {
        ClientView v = ClientView.of(replies(0, 10_000, 4_000, 4_600, "s1", true), 2_000, 8_000, 20);
        assertThat(v.longestGapMs()).isEqualTo(620);
        assertThat(v.lost()).isEqualTo(30);
        assertThat(v.expected()).isEqualTo(251);
        assertThat(v.continued()).isTrue();
        assertThat(v.counterBefore()).isEqualTo(20);
        assertThat(v.counterAfter()).isEqualTo(79);
    }

    @Test
    void withoutSequenceNumbersRepliesAreCountedByWhenTheyCame() {
        ClientView v = ClientView.of(replies(0, 10_000, 4_000, 4_600, "level-1", false), 2_000, 8_000, 20);
        assertThat(v.lost()).as("30 unanswered, give or take one at the window's edges").isBetween(30L, 31L);
        assertThat(v.longestGapMs()).isEqualTo(620);
        assertThat(v.continued()).isTrue();
    }

    @Test
    void aRestartedServerDidNotGoOn() {
        List<ClientView.Reply> r = new ArrayList<>(replies(0, 4_000, -1, -1, "start-1", true));
        r.addAll(replies(4_600, 8_000, -1, -1, "start-2", true)); // a new process, counting from where it is
        assertThat(ClientView.of(r, 1_000, 7_000, 20).continued()).isFalse();
        List<ClientView.Reply> reset = new ArrayList<>(replies(0, 4_000, -1, -1, "s", true));
        reset.add(new ClientView.Reply(4_700, 235, 1, "s")); // same identity, counter back at the start
        assertThat(ClientView.of(reset, 1_000, 5_000, 20).continued()).isFalse();
    }

    @Test
    void silenceToTheEndIsAGapAndNoReplyIsNoServer() {
        ClientView v = ClientView.of(replies(0, 3_000, -1, -1, "s", true), 1_000, 6_000, 20);
        assertThat(v.longestGapMs()).isEqualTo(6_000 - 3_003);
        assertThat(ClientView.of(List.of(), 0, 5_000, 20).continued()).isFalse();
        assertThatThrownBy(() -> ClientView.of(List.of(), 5, 5, 20)).isInstanceOf(IllegalArgumentException.class);
    }
}
