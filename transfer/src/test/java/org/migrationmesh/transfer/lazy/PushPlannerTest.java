package org.migrationmesh.transfer.lazy;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The lazy ranges left to push and the source's planning of requests and answers. */
class PushPlannerTest {
    private static final long P = 4096;

    @Test
    void rangesCoalesceSplitAndCountPages() {
        LazyRanges r = new LazyRanges();
        r.add(1, 0x1000, 0x5000);
        r.add(1, 0x5000, 0x9000);
        r.add(1, 0x3000, 0x6000); // overlap counted once
        r.add(2, 0x10000, 0x12000);
        assertThat(r.pages()).isEqualTo(8 + 2);
        r.remove(1, 0x2000, 0x4000);
        assertThat(r.pages()).isEqualTo(8);
        assertThat(r.take(1, 0, 3 * P)).isEqualTo(PageServerIov.get(1, 0x1000, 1)); // ends at the hole
        assertThat(r.take(1, 0x6000, 100 * P)).isEqualTo(PageServerIov.get(1, 0x6000, 3)); // from the hint
        assertThat(r.take(1, 0x6000, 100 * P)).isEqualTo(PageServerIov.get(1, 0x4000, 2)); // wraps to the lowest
        assertThat(r.take(1, 0, P)).isEqualTo(PageServerIov.get(2, 0x10000, 1)); // next process
        assertThat(r.take(2, 0, P)).isEqualTo(PageServerIov.get(2, 0x11000, 1));
        assertThat(r.take(2, 0, P)).isNull();
        assertThat(r.isEmpty()).isTrue();
        assertThat(r.pages()).isZero();
    }

    @Test
    void pushesStayWithinTheOutstandingLimitAndTheWindow() {
        LazyRanges r = new LazyRanges();
        r.add(1, 0, 100 * P);
        PushPlanner p = new PushPlanner(r, 4 * P, 10 * P, 2);
        List<PageServerIov> first = p.nextPushes();
        assertThat(first).containsExactly(PageServerIov.get(1, 0, 4), PageServerIov.get(1, 4 * P, 4));
        assertThat(p.nextPushes()).isEmpty(); // two outstanding
        p.onAnswer(first.get(0).answerHeader(4));
        // 4 pages unacknowledged + 4 outstanding + 4 more > 10: the window holds it back
        assertThat(p.nextPushes()).isEmpty();
        p.onAck(4 * P);
        assertThat(p.nextPushes()).containsExactly(PageServerIov.get(1, 8 * P, 4));
    }

    @Test
    void daemonRequestsLeaveThePlanAndAFaultMovesThePushesThere() {
        LazyRanges r = new LazyRanges();
        r.add(1, 0, 100 * P);
        PushPlanner p = new PushPlanner(r, 4 * P, 100 * P, 1);
        p.onDaemonRequest(PageServerIov.get(1, 50 * P, 1)); // a fault
        assertThat(p.nextPushes()).containsExactly(PageServerIov.get(1, 51 * P, 4));
        p.onDaemonRequest(PageServerIov.get(1, 0, 16)); // background: no jump
        assertThat(p.expected().asker()).isEqualTo(PushPlanner.Asker.DAEMON);
        assertThat(p.onAnswer(PageServerIov.get(1, 50 * P, 1).answerHeader(1)).asker()).isEqualTo(PushPlanner.Asker.DAEMON);
        assertThat(p.onAnswer(PageServerIov.get(1, 51 * P, 4).answerHeader(4)).asker()).isEqualTo(PushPlanner.Asker.PUSH);
        assertThat(p.nextPushes()).containsExactly(PageServerIov.get(1, 55 * P, 4));
        assertThat(p.pagesLeftToPush()).isEqualTo(100 - 1 - 16 - 4 - 4);
    }

    @Test
    void aShortAnswerPutsTheRestBackAndACloseStopsThePushes() {
        LazyRanges r = new LazyRanges();
        r.add(1, 0, 8 * P);
        PushPlanner p = new PushPlanner(r, 8 * P, 100 * P, 1);
        PageServerIov push = p.nextPushes().get(0);
        p.onAnswer(push.answerHeader(3));
        assertThat(p.pagesLeftToPush()).isEqualTo(5);
        assertThat(p.nextPushes()).containsExactly(PageServerIov.get(1, 3 * P, 5));
        p.onDaemonRequest(new PageServerIov(PageServerIov.PS_IOV_CLOSE, 0, 0, 0, 0));
        p.onAnswer(PageServerIov.get(1, 3 * P, 5).answerHeader(5));
        r.add(1, 100 * P, 101 * P);
        assertThat(p.nextPushes()).as("nothing after the daemon's close").isEmpty();
        p.onCloseAnswer();
        assertThat(p.expected()).isNull();
    }

    @Test
    void answersThatDoNotMatchTheOldestRequestAreRefused() {
        LazyRanges r = new LazyRanges();
        r.add(1, 0, 8 * P);
        PushPlanner p = new PushPlanner(r, 8 * P, 100 * P, 1);
        p.nextPushes();
        assertThatThrownBy(() -> p.onAnswer(PageServerIov.get(1, P, 8).answerHeader(8)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("answered");
        assertThatThrownBy(() -> p.onAnswer(PageServerIov.get(1, 0, 1).answerHeader(1)))
                .hasMessageContaining("none");
    }
}
