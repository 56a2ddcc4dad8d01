package org.migrationmesh.ipfloat;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The floating IP moves back and forth between two real hosts (network namespaces on a
 * bridge) while a client sends it a UDP datagram every 10 ms: each move loses only a few
 * datagrams, the client's neighbour entry follows the new owner at once, and the old owner
 * never answers again.
 */
class FloatingIpMoveIT {

    @Test
    void clientFollowsTheAddressBackAndForth() throws Exception {
        try (MoveScenario s = new MoveScenario(new AnnouncePolicy(3, Duration.ofSeconds(2)), true)) {
            s.begin("a", 30);
            assertThat(s.net.neighbourMac("c", s.vip.host())).isEqualTo(s.net.mac("a"));
            String[] order = {"b", "a", "b", "a", "b", "a"};
            for (String to : order) {
                Thread.sleep(1200); // past the neighbour table's locktime (1 s)
                MoveScenario.Move m = s.move(to, 3000);
                assertThat(m.firstFromNew()).as("reply from %s after move %d", to, m.epoch()).isNotNull();
                assertThat(m.release().outcome()).isEqualTo(Change.Outcome.REMOVED);
                assertThat(m.claim().outcome()).isEqualTo(Change.Outcome.ADDED);
                assertThat(s.net.neighbourMac("c", s.vip.host())).as("client's neighbour entry after move %d",
                        m.epoch()).isEqualTo(s.net.mac(to));
                assertThat(s.net.holds(m.from(), s.vip)).isFalse();
                assertThat(s.net.holds(to, s.vip)).isTrue();
            }
            Thread.sleep(500);
            assertThat(s.responder("a")).isNotEqualTo(s.responder("b"));
            List<MoveScenario.Move> moves = s.moves();
            for (MoveScenario.Move m : moves) {
                System.out.printf("move %d %s->%s: release %s, claim %s, first reply %.1f ms after claim, lost %d%n",
                        m.epoch(), m.from(), m.to(), m.release().took(), m.claim().took(), m.claimToFirstReplyMs(),
                        s.lost(m));
            }
            for (int i = 0; i < moves.size(); i++) {
                MoveScenario.Move m = moves.get(i);
                long until = i + 1 < moves.size() ? moves.get(i + 1).releaseNanos() : System.nanoTime();
                // ~2 datagrams normally; the bound leaves room for a loaded shared machine, a move
                // without gratuitous ARP loses seconds of them.
                assertThat(s.lost(m)).as("datagrams lost in move %d (%.1f ms to first reply)", m.epoch(),
                        m.claimToFirstReplyMs()).isBetween(0L, 30L);
                assertThat(s.repliesFromOldAfterwards(m, until)).as("replies from the old host after move %d",
                        m.epoch()).isZero();
            }
        }
    }
}
