package org.migrationmesh.transfer.lazy;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * The source's plan for one page-server connection: which requests to add to the daemon's
 * (pushes of lazy pages nobody asked for yet) and whose request each answer belongs to.
 *
 * <p>The page server answers strictly in request order, so a FIFO of askers routes every
 * answer. The daemon's requests are written as soon as they arrive; pushes only while fewer
 * than {@code maxOutstanding} are unanswered and the pushed bytes not yet acknowledged by the
 * destination, plus those asked, stay within {@code window}: a slow link then holds at most
 * a window of pushed pages ahead of an answer the daemon waits for, and answers can always be
 * read from the page server without waiting for the destination. After the daemon's close
 * nothing more is pushed. Pure; not thread-safe.
 */
final class PushPlanner {
    /** Who asked the page server. */
    enum Asker { DAEMON, PUSH }

    /** One request written to the page server and not answered yet. */
    record Asked(Asker asker, PageServerIov iov) {
    }

    private final LazyRanges remaining;
    private final long chunkBytes;
    private final long window;
    private final int maxOutstanding;
    private final Deque<Asked> asked = new ArrayDeque<>();
    private int pushesOutstanding;
    private long pushBytesOutstanding;
    private long unacked;
    private boolean closed;
    private long hintPid = -1;
    private long hintAddr;
    private long pushedBytes;
    private long heldBytes;

    PushPlanner(LazyRanges remaining, long chunkBytes, long window, int maxOutstanding) {
        if (chunkBytes < PageServerIov.PAGE_SIZE || chunkBytes % PageServerIov.PAGE_SIZE != 0) {
            throw new IllegalArgumentException("push chunk must be a positive number of pages, got " + chunkBytes);
        }
        if (window < chunkBytes) throw new IllegalArgumentException("push window " + window + " < chunk " + chunkBytes);
        if (maxOutstanding < 1) throw new IllegalArgumentException("max outstanding pushes must be >= 1, got " + maxOutstanding);
        this.remaining = remaining;
        this.chunkBytes = chunkBytes;
        this.window = window;
        this.maxOutstanding = maxOutstanding;
    }

    /**
     * The daemon sent {@code iov}, which the caller writes to the page server right away. Its
     * pages leave the push plan; a one-page request (a page fault) moves the pushes there, as
     * the process is likely to touch the neighbourhood next.
     */
    void onDaemonRequest(PageServerIov iov) {
        asked.add(new Asked(Asker.DAEMON, iov));
        if (iov.isClose()) {
            closed = true;
        } else if (iov.isGet()) {
            remaining.remove(iov.dstId(), iov.vaddr(), iov.vaddr() + iov.bytes());
            if (iov.nrPages() == 1) {
                hintPid = iov.dstId();
                hintAddr = iov.vaddr() + PageServerIov.PAGE_SIZE;
            }
        }
    }

    /** The pushes to write to the page server now (after any daemon request just written). */
    List<PageServerIov> nextPushes() {
        List<PageServerIov> out = new ArrayList<>();
        while (!closed && pushesOutstanding < maxOutstanding && unacked + pushBytesOutstanding + chunkBytes <= window) {
            PageServerIov iov = remaining.take(hintPid, hintAddr, chunkBytes);
            if (iov == null) break;
            hintPid = iov.dstId();
            hintAddr = iov.vaddr() + iov.bytes();
            asked.add(new Asked(Asker.PUSH, iov));
            pushesOutstanding++;
            pushBytesOutstanding += iov.bytes();
            out.add(iov);
        }
        return out;
    }

    /** The request the next answer from the page server belongs to; null if none is pending. */
    Asked expected() {
        return asked.peek();
    }

    /**
     * The page server answered the oldest pending GET with {@code header}; returns that
     * request. Pages it did not give (it clamps at the end of its buffers) go back into the plan.
     */
    Asked onAnswer(PageServerIov header) {
        Asked a = asked.poll();
        if (a == null || !a.iov().isGet()) {
            throw new IllegalStateException("page server answered " + header + " but the oldest pending request is "
                    + (a == null ? "none" : a.iov()));
        }
        PageServerIov q = a.iov();
        if (header.dstId() != q.dstId() || header.vaddr() != q.vaddr() || header.nrPages() > q.nrPages() || header.nrPages() < 1) {
            throw new IllegalStateException("page server answered " + header + " to " + q);
        }
        if (a.asker() == Asker.PUSH) {
            pushesOutstanding--;
            pushBytesOutstanding -= q.bytes();
            unacked += header.bytes();
            pushedBytes += header.bytes();
            if (header.nrPages() < q.nrPages()) remaining.add(q.dstId(), q.vaddr() + header.bytes(), q.vaddr() + q.bytes());
        }
        return a;
    }

    /** The page server answered the oldest pending request, a close. */
    void onCloseAnswer() {
        Asked a = asked.poll();
        if (a == null || !a.iov().isClose()) {
            throw new IllegalStateException("page server sent a close status but the oldest pending request is "
                    + (a == null ? "none" : a.iov()));
        }
    }

    /**
     * The answer of {@code pageBytes} just accounted for ({@link #onAnswer}) went to the
     * destination weighing {@code weight} instead (its pre-copied pages as digests).
     */
    void onSentAs(long pageBytes, long weight) {
        unacked = Math.max(0, unacked - pageBytes + weight);
        if (weight < pageBytes) heldBytes += pageBytes - weight;
    }

    /** The destination stored {@code bytes} more of the pushed pages. */
    void onAck(long bytes) {
        unacked = Math.max(0, unacked - bytes);
    }

    int pushesOutstanding() {
        return pushesOutstanding;
    }

    long pushedBytes() {
        return pushedBytes;
    }

    /** Bytes of pushed pages that went as digests, not sent again, about. */
    long heldBytes() {
        return heldBytes;
    }

    long pagesLeftToPush() {
        return remaining.pages();
    }
}
