package org.migrationmesh.transfer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;

/**
 * The file digest of a planned pages file: SHA-256 over its length and the list of its pages'
 * {@link PageHash} digests, in file order. Sender and receiver compute it from the digest list
 * (the sender from its scan, the receiver from the slices it planned against) instead of hashing
 * the whole file, which costs time proportional to the image while the container is frozen.
 *
 * <p>It binds the file's layout and each page's 64-bit digest; the bytes themselves are proved
 * by the chunk CRC32Cs, which the receiver checks on what it wrote (see {@link ReceiveSession}).
 * Pure.
 */
final class PageListDigest {
    private static final byte[] TAG = "migration-mesh pages file v1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private PageListDigest() {}

    static byte[] of(long length, long[] digests) {
        MessageDigest sha = ReceiveSession.sha256();
        sha.update(TAG);
        ByteBuffer b = ByteBuffer.allocate(8 + digests.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(length);
        b.asLongBuffer().put(digests);
        sha.update(b.array());
        return sha.digest();
    }
}
