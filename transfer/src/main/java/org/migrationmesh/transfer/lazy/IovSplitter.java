package org.migrationmesh.transfer.lazy;

import java.util.ArrayList;
import java.util.List;

/** Cuts a byte stream (arriving in arbitrary pieces) into {@link PageServerIov} messages. */
final class IovSplitter {
    private final byte[] partial = new byte[PageServerIov.SIZE];
    private int have;

    List<PageServerIov> feed(byte[] b, int off, int len) {
        List<PageServerIov> out = new ArrayList<>();
        int end = off + len;
        while (off < end) {
            int n = Math.min(PageServerIov.SIZE - have, end - off);
            System.arraycopy(b, off, partial, have, n);
            have += n;
            off += n;
            if (have == PageServerIov.SIZE) {
                out.add(PageServerIov.decode(partial, 0));
                have = 0;
            }
        }
        return out;
    }

    /** True between messages (no half message pending). */
    boolean atBoundary() {
        return have == 0;
    }
}
