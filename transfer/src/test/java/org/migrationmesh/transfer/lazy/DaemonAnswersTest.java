package org.migrationmesh.transfer.lazy;

import com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The destination's answers to the daemon: from pushed pages or forwarded, always in request order. */
class DaemonAnswersTest {
    private static final int P = 4096;

    private static byte[] pages(long pid, long vaddr, int n) {
        byte[] b = new byte[n * P];
        for (int i = 0; i < n; i++) {
            Random r = new Random(pid * 1_000_003 + vaddr + (long) i * P);
            byte[] page = new byte[P];
            r.nextBytes(page);
            System.arraycopy(page, 0, b, i * P, P);
        }
        return b;
    }

    /** What the page server would send for {@code q} giving {@code n} pages. */
    private static byte[] serverAnswer(PageServerIov q, int n) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(q.answerHeader(n).encode());
        o.writeBytes(pages(q.dstId(), q.vaddr(), n));
        return o.toByteArray();
    }

    private static byte[] concat(List<byte[]> parts) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        parts.forEach(o::writeBytes);
        return o.toByteArray();
    }

    @Test
    void cachedPagesAreAnsweredAsThePageServerWouldAndOnlyOnce() {
        PageCache cache = new PageCache(1 << 20);
        cache.put(3, 0x10000, ByteString.copyFrom(pages(3, 0x10000, 4)));
        DaemonAnswers a = new DaemonAnswers(cache);
        PageServerIov q = new PageServerIov(PageServerIov.PS_IOV_GET, 1234, 2, 0x11000, 3);
        DaemonAnswers.Decision d = a.onDaemonRequest(q);
        assertThat(d.forward()).isNull();
        assertThat(concat(d.toDaemon())).isEqualTo(serverAnswer(q, 2));
        assertThat(cache.bytes()).isEqualTo(2 * P);
        assertThat(a.onDaemonRequest(q).forward()).as("served pages are dropped").isEqualTo(q);
    }

    @Test
    void aForwardedRequestStopsAtTheFirstCachedPage() {
        PageCache cache = new PageCache(1 << 20);
        cache.put(2, 0x20000 + 3 * P, ByteString.copyFrom(pages(2, 0x20000 + 3 * P, 2)));
        DaemonAnswers a = new DaemonAnswers(cache);
        PageServerIov q = new PageServerIov(PageServerIov.PS_IOV_GET, 77, 8, 0x20000, 2);
        assertThat(a.onDaemonRequest(q).forward()).as("the 3 pages before the cached ones")
                .isEqualTo(new PageServerIov(PageServerIov.PS_IOV_GET, 77, 3, 0x20000, 2));
        PageServerIov far = PageServerIov.get(9, 0x20000, 8);
        assertThat(a.onDaemonRequest(far).forward()).as("nothing cached for that process").isEqualTo(far);
        assertThat(concat(a.onForwardedAnswerBytes(serverAnswer(q, 3), 0, serverAnswer(q, 3).length)))
                .isEqualTo(serverAnswer(q, 3));
    }

    @Test
    void aPartlyCachedRequestGetsTheCachedRunLikeAShortServerAnswer() {
        PageCache cache = new PageCache(1 << 20);
        cache.put(1, 0x1000, ByteString.copyFrom(pages(1, 0x1000, 2)));
        DaemonAnswers a = new DaemonAnswers(cache);
        PageServerIov q = PageServerIov.get(1, 0x1000, 16);
        assertThat(concat(a.onDaemonRequest(q).toDaemon())).isEqualTo(serverAnswer(q, 2));
        assertThat(a.onDaemonRequest(PageServerIov.get(1, 0x3000, 1)).forward()).isNotNull();
    }

    @Test
    void localAnswersWaitBehindEarlierForwardedOnesWhateverTheCutOfTheBytes() {
        Random r = new Random(5);
        for (int round = 0; round < 50; round++) {
            PageCache cache = new PageCache(1 << 24);
            DaemonAnswers a = new DaemonAnswers(cache);
            ByteArrayOutputStream expected = new ByteArrayOutputStream();
            ByteArrayOutputStream fromSource = new ByteArrayOutputStream();
            ByteArrayOutputStream toDaemon = new ByteArrayOutputStream();
            for (int i = 0; i < 30; i++) {
                long vaddr = 0x100000L + (long) i * 64 * P;
                int n = 1 + r.nextInt(8);
                PageServerIov q = PageServerIov.get(1 + r.nextInt(2), vaddr, n);
                if (r.nextBoolean()) {
                    cache.put(q.dstId(), vaddr, ByteString.copyFrom(pages(q.dstId(), vaddr, n)));
                    expected.writeBytes(serverAnswer(q, n));
                } else {
                    int given = 1 + r.nextInt(n);
                    expected.writeBytes(serverAnswer(q, given));
                    fromSource.writeBytes(serverAnswer(q, given));
                }
                DaemonAnswers.Decision d = a.onDaemonRequest(q);
                d.toDaemon().forEach(toDaemon::writeBytes);
            }
            PageServerIov close = new PageServerIov(PageServerIov.PS_IOV_CLOSE, 0, 0, 0, 0);
            assertThat(a.onDaemonRequest(close).forward()).isEqualTo(close);
            fromSource.writeBytes(new byte[] {0, 0, 0, 0});
            expected.writeBytes(new byte[] {0, 0, 0, 0});
            byte[] src = fromSource.toByteArray();
            int off = 0;
            while (off < src.length) {
                int n = Math.min(src.length - off, 1 + r.nextInt(3 * P));
                a.onForwardedAnswerBytes(src, off, n).forEach(toDaemon::writeBytes);
                off += n;
            }
            assertThat(toDaemon.toByteArray()).as("round " + round).isEqualTo(expected.toByteArray());
            assertThat(a.idle()).isTrue();
        }
    }

    @Test
    void forwardedAnswersEvictPushedCopiesAndUnaskedBytesAreAnError() {
        PageCache cache = new PageCache(1 << 20);
        DaemonAnswers a = new DaemonAnswers(cache);
        PageServerIov q = PageServerIov.get(1, 0x1000, 4);
        assertThat(a.onDaemonRequest(q).forward()).isEqualTo(q);
        cache.put(1, 0x2000, ByteString.copyFrom(pages(1, 0x2000, 2))); // pushed while the request travelled
        byte[] ans = serverAnswer(q, 4);
        a.onForwardedAnswerBytes(ans, 0, ans.length);
        assertThat(cache.bytes()).isZero();
        assertThatThrownBy(() -> a.onForwardedAnswerBytes(ans, 0, 1)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no forwarded request");
    }

    @Test
    void commandsTheDaemonNeverSendsAreRefused() {
        DaemonAnswers a = new DaemonAnswers(new PageCache(0));
        assertThatThrownBy(() -> a.onDaemonRequest(new PageServerIov(PageServerIov.PS_IOV_ADD_F, 0, 1, 0, 1)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("neither PS_IOV_GET nor PS_IOV_CLOSE");
    }

    @Test
    void theCacheKeepsNoMoreThanItsBudget() {
        PageCache cache = new PageCache(3 * P);
        cache.put(1, 0, ByteString.copyFrom(pages(1, 0, 5)));
        assertThat(cache.bytes()).isEqualTo(3 * P);
        assertThat(cache.refusedBytes()).isEqualTo(2 * P);
        assertThat(cache.take(1, 0, 10)).hasSize(3 * P);
        assertThat(cache.take(1, 3 * P, 1)).isNull();
    }
}
