package org.migrationmesh.transfer.lazy;

import org.junit.jupiter.api.Test;
import org.migrationmesh.proto.lazypages.RelayFrame;
import org.migrationmesh.transfer.PageHash;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class PushedFramesTest {
    private static final int P = 4096;

    private static byte[] pages(int n) {
        byte[] b = new byte[n * P];
        for (int i = 0; i < n; i++) b[i * P] = (byte) (i + 1);
        return b;
    }

    @Test
    void withoutAPreCopyThePagesGoAsOnePushedFrame() {
        List<RelayFrame> f = PushedFrames.of(4, 0x1000, pages(3), null);
        assertThat(f).hasSize(1);
        assertThat(f.get(0).getPushed().getPages().size()).isEqualTo(3 * P);
        assertThat(PushedFrames.weight(f.get(0))).isEqualTo(3 * P);
    }

    @Test
    void runsThePreCopySentUnchangedGoAsDigestsTheOthersAsPages() {
        byte[] pages = pages(5);
        // pages 1, 2 and 4 were sent unchanged
        PreCopiedPages pre = (pid, vaddr, page, off) -> pid == 4 && (vaddr == 0x2000 || vaddr == 0x3000 || vaddr == 0x5000);
        List<RelayFrame> f = PushedFrames.of(4, 0x1000, pages, pre);
        assertThat(f).extracting(RelayFrame::getKindCase).containsExactly(RelayFrame.KindCase.PUSHED, RelayFrame.KindCase.HELD,
                RelayFrame.KindCase.PUSHED, RelayFrame.KindCase.HELD);
        assertThat(f.get(1).getHeld().getVaddr()).isEqualTo(0x2000);
        assertThat(f.get(1).getHeld().getDigestsList()).containsExactly(PageHash.of(pages, P), PageHash.of(pages, 2 * P));
        assertThat(f.get(2).getPushed().getVaddr()).isEqualTo(0x4000);
        assertThat(f.get(2).getPushed().getPages().toByteArray()[0]).isEqualTo((byte) 4);
        assertThat(f.stream().mapToLong(PushedFrames::weight).sum()).isEqualTo(2 * P + 3 * PushedFrames.HELD_PAGE_WEIGHT);
    }
}
