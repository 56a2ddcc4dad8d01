package org.migrationmesh.transfer.lazy;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The page-server message layout and the splitting of a request stream. */
class PageServerProtocolTest {
    @Test
    void layoutIsCriusStructWithPadding() {
        PageServerIov iov = new PageServerIov(PageServerIov.PS_IOV_GET, 0x5a5a5a5a, 3, 0x7f0000001000L, 42);
        byte[] b = iov.encode();
        assertThat(b).hasSize(32);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(bb.getInt(0)).isEqualTo(7);
        assertThat(bb.getInt(4)).isEqualTo(0x5a5a5a5a);
        assertThat(bb.getLong(8)).isEqualTo(3);
        assertThat(bb.getLong(16)).isEqualTo(0x7f0000001000L);
        assertThat(bb.getLong(24)).isEqualTo(42);
        assertThat(PageServerIov.decode(b, 0)).isEqualTo(iov);
    }

    @Test
    void answerHeaderIsAddFPresentWithThePaddingEchoed() {
        PageServerIov q = new PageServerIov(PageServerIov.PS_IOV_GET, 99, 16, 0x1000, 7);
        PageServerIov a = q.answerHeader(5);
        assertThat(a.cmd()).isEqualTo(0x40006); // encode_ps_cmd(PS_IOV_ADD_F, PE_PRESENT)
        assertThat(a.padding()).isEqualTo(99);
        assertThat(a.nrPages()).isEqualTo(5);
        assertThat(a.vaddr()).isEqualTo(0x1000);
        assertThat(a.dstId()).isEqualTo(7);
        assertThat(a.isGet()).isFalse();
        assertThat(new PageServerIov(PageServerIov.PS_IOV_CLOSE, 0, 0, 0, 0).isClose()).isTrue();
    }

    @Test
    void splitterReassemblesMessagesCutAnywhere() {
        Random r = new Random(11);
        List<PageServerIov> sent = new ArrayList<>();
        ByteBuffer stream = ByteBuffer.allocate(32 * 200);
        for (int i = 0; i < 200; i++) {
            PageServerIov iov = PageServerIov.get(r.nextInt(1000), (long) r.nextInt(1 << 20) << 12, 1 + r.nextInt(1024));
            sent.add(iov);
            stream.put(iov.encode());
        }
        byte[] all = stream.array();
        IovSplitter s = new IovSplitter();
        List<PageServerIov> got = new ArrayList<>();
        int off = 0;
        while (off < all.length) {
            int n = Math.min(all.length - off, r.nextInt(80));
            got.addAll(s.feed(all, off, n));
            off += n;
        }
        assertThat(got).isEqualTo(sent);
        assertThat(s.atBoundary()).isTrue();
        s.feed(all, 0, 5);
        assertThat(s.atBoundary()).isFalse();
    }
}
