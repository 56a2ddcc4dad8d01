package org.migrationmesh.transfer.lazy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One message of CRIU's page-server protocol (criu/page-xfer.c, {@code struct page_server_iov}):
 * {@code u32 cmd; (4 bytes padding) u64 nr_pages; u64 vaddr; u64 dst_id}, 32 bytes in host
 * order (little-endian on x86-64). The lazy-pages daemon sends {@code PS_IOV_GET} for pages
 * and {@code PS_IOV_CLOSE} at the end; the page server answers a GET with the same struct
 * ({@code cmd = PS_IOV_ADD_F | PE_PRESENT << 16}, {@code nr_pages} possibly fewer, padding
 * echoed) followed by the pages, and a CLOSE with a 4-byte status.
 *
 * <p>For lazy pages {@code dst_id} is the process's virtual pid, not encoded
 * ({@code request_remote_pages(lpi->pid, ...)}, served through {@code pstree_item_by_virt}).
 */
record PageServerIov(int cmd, int padding, long nrPages, long vaddr, long dstId) {
    static final int SIZE = 32;
    static final int PAGE_SIZE = 4096;
    static final int PS_IOV_ADD_F = 6;
    static final int PS_IOV_GET = 7;
    static final int PS_IOV_CLOSE = 0x1023;
    static final int PS_IOV_FORCE_CLOSE = 0x1024;
    static final int PE_PRESENT = 1 << 2;
    static final int PS_CMD_BITS = 16;
    /** The answer to a close: an int32 status. */
    static final int CLOSE_ANSWER_SIZE = 4;

    static PageServerIov get(long dstId, long vaddr, long nrPages) {
        return new PageServerIov(PS_IOV_GET, 0, nrPages, vaddr, dstId);
    }

    static PageServerIov decode(byte[] b, int off) {
        ByteBuffer bb = ByteBuffer.wrap(b, off, SIZE).order(ByteOrder.LITTLE_ENDIAN);
        return new PageServerIov(bb.getInt(), bb.getInt(), bb.getLong(), bb.getLong(), bb.getLong());
    }

    byte[] encode() {
        ByteBuffer bb = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        bb.putInt(cmd).putInt(padding).putLong(nrPages).putLong(vaddr).putLong(dstId);
        return bb.array();
    }

    /** The command without its flags. */
    int command() {
        return cmd & ((1 << PS_CMD_BITS) - 1);
    }

    boolean isGet() {
        return command() == PS_IOV_GET;
    }

    boolean isClose() {
        return cmd == PS_IOV_CLOSE || cmd == PS_IOV_FORCE_CLOSE;
    }

    /** The header the page server writes before {@code pages} pages answering this GET. */
    PageServerIov answerHeader(long pages) {
        return new PageServerIov(PE_PRESENT << PS_CMD_BITS | PS_IOV_ADD_F, padding, pages, vaddr, dstId);
    }

    long bytes() {
        return nrPages * PAGE_SIZE;
    }

    @Override
    public String toString() {
        return "iov[cmd=0x" + Integer.toHexString(cmd) + " pid=" + dstId + " vaddr=0x" + Long.toHexString(vaddr)
                + " pages=" + nrPages + "]";
    }
}
