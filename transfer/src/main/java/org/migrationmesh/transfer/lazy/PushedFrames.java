package org.migrationmesh.transfer.lazy;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import org.migrationmesh.proto.lazypages.HeldPages;
import org.migrationmesh.proto.lazypages.PushedPages;
import org.migrationmesh.proto.lazypages.RelayFrame;
import org.migrationmesh.transfer.PageHash;

import java.util.ArrayList;
import java.util.List;

/**
 * The frames that carry one push answer of the page server to the destination: runs of pages
 * the pre-copy already sent unchanged as {@code held} frames (a digest each), the other runs
 * as {@code pushed} frames (the pages); pages the destination knows it holds as the frozen
 * process has them, none. Pure.
 */
final class PushedFrames {
    /** What a held page weighs against the push window (and in acknowledgements): its digest. */
    static final long HELD_PAGE_WEIGHT = 8;
    private static final byte PUSH = 0, HELD = 1, MARKED = 2;

    private PushedFrames() {
    }

    /**
     * Splits {@code pages} (whole pages from {@code vaddr} of process {@code pid}) into frames;
     * with {@code preCopied} null, one pushed frame. {@code pages} belongs to the frames afterwards.
     */
    static List<RelayFrame> of(long pid, long vaddr, byte[] pages, PreCopiedPages preCopied) {
        int n = pages.length / PageServerIov.PAGE_SIZE;
        byte[] kind = new byte[n]; // PUSH, HELD or MARKED (the destination knows it has it: no frame)
        for (int k = 0; preCopied != null && k < n; k++) {
            long a = vaddr + (long) k * PageServerIov.PAGE_SIZE;
            kind[k] = preCopied.markedFrozen(pid, a) ? MARKED
                    : preCopied.sentUnchanged(pid, a, pages, k * PageServerIov.PAGE_SIZE) ? HELD : PUSH;
        }
        List<RelayFrame> out = new ArrayList<>();
        for (int i = 0, j; i < n; i = j) {
            j = i + 1;
            while (j < n && kind[j] == kind[i]) j++;
            long first = vaddr + (long) i * PageServerIov.PAGE_SIZE;
            if (kind[i] == MARKED) continue;
            if (kind[i] == HELD) {
                HeldPages.Builder h = HeldPages.newBuilder().setDstId(pid).setVaddr(first);
                for (int k = i; k < j; k++) h.addDigests(PageHash.of(pages, k * PageServerIov.PAGE_SIZE));
                out.add(RelayFrame.newBuilder().setHeld(h).build());
            } else {
                out.add(RelayFrame.newBuilder().setPushed(PushedPages.newBuilder().setDstId(pid).setVaddr(first)
                        .setPages(i == 0 && j == n ? UnsafeByteOperations.unsafeWrap(pages) // the caller gave them up
                                : ByteString.copyFrom(pages, i * PageServerIov.PAGE_SIZE, (j - i) * PageServerIov.PAGE_SIZE))).build());
            }
        }
        return out;
    }

    /** What {@code frame} (pushed or held) weighs against the push window. */
    static long weight(RelayFrame frame) {
        return switch (frame.getKindCase()) {
            case PUSHED -> frame.getPushed().getPages().size();
            case HELD -> HELD_PAGE_WEIGHT * frame.getHeld().getDigestsCount();
            default -> throw new IllegalArgumentException("not a pushed or held frame: " + frame.getKindCase());
        };
    }
}
