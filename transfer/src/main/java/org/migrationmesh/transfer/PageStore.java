package org.migrationmesh.transfer;

/**
 * The pages a receiver holds for one migration, by {@link PageKey}: those of the last published
 * round and those sent ahead live from the running process. The newest content for a key wins.
 * A later round's pages are compared against these and only the differing ones are sent.
 */
public interface PageStore extends AutoCloseable {
    /** Whether a page with this digest is held at this key. */
    boolean holds(PageKey key, long digest);

    /** Copies the held page at {@code key} into {@code dst[off .. off+4096)}; false if none. */
    boolean read(PageKey key, byte[] dst, int off);

    /**
     * Copies held pages at {@code vaddrs[from]}, {@code vaddrs[from+1]}, ... of {@code space}
     * into {@code dst} from {@code off}, at most {@code count}, stopping where they are not
     * stored one after the other (so a run costs one read); returns how many, 0 if the first is
     * not held.
     */
    int readRun(String space, long[] vaddrs, int from, int count, byte[] dst, int off);

    /**
     * Takes a page read from the running process ahead of the final dump (4 KiB at
     * {@code src[off..]}); it replaces whatever was held at the key.
     */
    void putLive(PageKey key, byte[] src, int off);

    /**
     * Adopts the pages file of a just published round: page i of {@code pagesFile} is at
     * {@code vaddrs[i]} of {@code space} and has digest {@code digests[i]}. Pages of older rounds
     * are forgotten (their files may be deleted afterwards); live pages not covered stay.
     */
    void adoptRound(int round, java.nio.file.Path pagesFile, String space, long[] vaddrs, long[] digests);

    /** Number of keys held. */
    int size();

    @Override
    void close();
}
