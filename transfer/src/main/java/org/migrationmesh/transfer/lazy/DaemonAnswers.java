package org.migrationmesh.transfer.lazy;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/**
 * The destination's side of one daemon connection: answers the daemon's page requests from
 * the pushed pages where it can, forwards the others to the source, and hands the daemon
 * every answer in the order of its requests (the daemon matches answers to requests first in,
 * first out), so an answer made here waits behind earlier forwarded ones.
 *
 * <p>A local answer is what the page server would send: the request's header with
 * {@code cmd = PS_IOV_ADD_F | PE_PRESENT << 16} and the number of pages given, then the
 * pages; like the page server, it may give fewer pages than asked (the cached run from the
 * first page on), which the daemon accepts and asks the rest again. A forwarded request is
 * cut at the first cached page, for the same reason. Pure; not thread-safe.
 */
final class DaemonAnswers {
    /** What to do with one daemon request: bytes for the daemon now, and/or a request to forward. */
    record Decision(List<byte[]> toDaemon, PageServerIov forward) {
    }

    private static final class Pending {
        final PageServerIov request;
        final byte[] local; // null while forwarded

        Pending(PageServerIov request, byte[] local) {
            this.request = request;
            this.local = local;
        }
    }

    private final PageCache cache;
    private final Deque<Pending> pending = new ArrayDeque<>();
    // the forwarded answer being received: its header so far, then how many bytes remain
    private final byte[] header = new byte[PageServerIov.SIZE];
    private int headerHave;
    private long bodyLeft = -1;
    private PageServerIov answering;
    private long localPages;
    private long forwardedPages;

    DaemonAnswers(PageCache cache) {
        this.cache = cache;
    }

    /** @throws IllegalStateException for a command the lazy-pages daemon never sends (its answer's size is unknown) */
    Decision onDaemonRequest(PageServerIov iov) {
        if (!iov.isGet() && !iov.isClose()) {
            throw new IllegalStateException("the lazy-pages daemon sent " + iov + ", neither PS_IOV_GET nor PS_IOV_CLOSE");
        }
        if (iov.isGet()) {
            byte[] pages = cache.take(iov.dstId(), iov.vaddr(), iov.nrPages());
            if (pages != null) {
                long n = pages.length / PageServerIov.PAGE_SIZE;
                localPages += n;
                byte[] head = iov.answerHeader(n).encode();
                byte[] answer = Arrays.copyOf(head, head.length + pages.length);
                System.arraycopy(pages, 0, answer, head.length, pages.length);
                if (pending.isEmpty()) return new Decision(List.of(answer), null);
                pending.add(new Pending(iov, answer));
                return new Decision(List.of(), null);
            }
        }
        if (iov.isGet()) {
            // Only up to the first cached page: the page server would send again what is here.
            long uncached = cache.uncachedRun(iov.dstId(), iov.vaddr(), iov.nrPages());
            if (uncached < iov.nrPages()) iov = new PageServerIov(iov.cmd(), iov.padding(), uncached, iov.vaddr(), iov.dstId());
        }
        pending.add(new Pending(iov, null));
        return new Decision(List.of(), iov);
    }

    /**
     * Bytes of the page server's answers to forwarded requests, as they come; returns what to
     * write to the daemon, in order.
     */
    List<byte[]> onForwardedAnswerBytes(byte[] b, int off, int len) {
        List<byte[]> out = new ArrayList<>();
        int end = off + len;
        while (off < end) {
            if (answering == null) {
                Pending head = pending.peek();
                if (head == null || head.local != null) {
                    throw new IllegalStateException("the source sent " + (end - off) + " answer bytes but no forwarded request"
                            + " waits for one (oldest pending: " + (head == null ? "none" : head.request) + ")");
                }
                answering = head.request;
                headerHave = 0;
                bodyLeft = answering.isGet() ? -1 : PageServerIov.CLOSE_ANSWER_SIZE;
            }
            if (bodyLeft < 0) { // reading the GET answer's header
                int n = Math.min(PageServerIov.SIZE - headerHave, end - off);
                System.arraycopy(b, off, header, headerHave, n);
                headerHave += n;
                off += n;
                if (headerHave < PageServerIov.SIZE) break;
                PageServerIov h = PageServerIov.decode(header, 0);
                if (h.dstId() != answering.dstId() || h.vaddr() != answering.vaddr() || h.nrPages() < 1
                        || h.nrPages() > answering.nrPages()) {
                    throw new IllegalStateException("the page server answered " + h + " to " + answering);
                }
                cache.drop(h.dstId(), h.vaddr(), h.nrPages());
                forwardedPages += h.nrPages();
                out.add(header.clone());
                bodyLeft = h.bytes();
            }
            int n = (int) Math.min(bodyLeft, end - off);
            if (n > 0) {
                out.add(Arrays.copyOfRange(b, off, off + n));
                off += n;
                bodyLeft -= n;
            }
            if (bodyLeft == 0) {
                pending.poll();
                answering = null;
                while (!pending.isEmpty() && pending.peek().local != null) out.add(pending.poll().local);
            }
        }
        return out;
    }

    /** True when no request of the daemon waits for its answer. */
    boolean idle() {
        return pending.isEmpty();
    }

    long localPages() {
        return localPages;
    }

    long forwardedPages() {
        return forwardedPages;
    }
}
