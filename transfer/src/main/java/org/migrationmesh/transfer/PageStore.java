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
     * Copies the held pages at {@code vaddrs[from]}, {@code vaddrs[from+1]}, ... of {@code space}
     * whose digests are {@code digests[from]}, ... into {@code dst} from {@code dstPosition} on,
     * at most {@code count}, stopping at the first not held with that digest; returns how many.
     * Pages stored one after the other are copied file to file by the kernel, scattered ones
     * gathered into one write. The caller checks what was copied (the digests say what the
     * store meant to keep, not what its files hold now).
     */
    int transferRun(String space, long[] vaddrs, long[] digests, int from, int count, java.nio.channels.FileChannel dst,
                    long dstPosition);

    /**
     * Gives up the file of live pages of {@code space}, moved to {@code target}, if it is laid
     * out nearly as the pages file of {@code vaddrs}/{@code digests} would be: at least half the
     * file's pages are held there with the digest asked for at their page index (or at one a few
     * range edits shift them to), and few held there are elsewhere (those are moved to their
     * index), and the pages file takes nearly every
     * page the live file holds: a lazy dump's pages file has a few pages (the vDSO's, the text
     * page CRIU's injection copied), which may well lie at the live file's start, and the
     * others are still wanted, for the lazy restore. Returns which pages are then in
     * place (its other pages are stale or foreign, to be overwritten), with the CRC32C of those
     * of its pages last read back ({@link #readBackLiveFiles}) and not written since; the store
     * no longer holds any page of that file. Empty, and nothing changed, otherwise.
     */
    java.util.Optional<Yielded> yieldLiveFile(String space, long[] vaddrs, long[] digests, java.nio.file.Path target);

    /**
     * A live file given up as a pages file: {@code inPlace}, the pages laid out as asked; of the
     * pages at positions {@code readBack}, the CRC32C as read back from the file and not written
     * since ({@code readBackCrcs[page]}).
     */
    record Yielded(java.util.BitSet inPlace, int[] readBackCrcs, java.util.BitSet readBack) {}

    /**
     * Reads the live files back (the pages written since they were last read back) and keeps
     * the CRC32C of each page by its position, which the final round's check of a yielded file
     * then takes instead of reading the page again ({@link #yieldLiveFile}). For when a live round
     * has ended (the last one ends before the freeze). Any page written afterwards is read again
     * by that check. Returns the pages read.
     */
    default int readBackLiveFiles() {
        return 0;
    }

    /**
     * Takes a page read from the running process ahead of the final dump (4 KiB at
     * {@code src[off..]}); it replaces whatever was held at the key.
     */
    void putLive(PageKey key, byte[] src, int off);

    /**
     * Puts the pages this store holds at {@code vaddrs[from..to)} of {@code space} (from a parent
     * image: a live round left them out because they are held) after the live pages taken so far,
     * in that order, as if they had been sent live: the live file then lies in the order of the
     * process's pages file and can become it ({@link #yieldLiveFile}). A page not held keeps its
     * place empty (the final image fills it); one in the live file already stays where it is.
     * Returns the pages placed.
     */
    default int putLiveHeld(String space, long[] vaddrs, int from, int to) {
        return 0;
    }

    /** The digest of the page held at {@code key}, if one is. */
    default java.util.OptionalLong digestOf(PageKey key) {
        return java.util.OptionalLong.empty();
    }

    /** Holds the pages at {@code vaddrs[from..to)} of {@code space} no more. */
    default void forget(String space, long[] vaddrs, int from, int to) {
    }

    /**
     * Adopts the pages file of a just published round: page i of {@code pagesFile} is at
     * {@code vaddrs[i]} of {@code space} and has digest {@code digests[i]}. Pages of older rounds
     * are forgotten (their files may be deleted afterwards); live pages not covered stay.
     */
    void adoptRound(int round, java.nio.file.Path pagesFile, String space, long[] vaddrs, long[] digests);

    /**
     * Notes that the pages held at {@code vaddrs} of {@code space} are those of the frozen
     * process (its source said so after its last round, read while frozen): a lazy restore may
     * take them as they are. A page sent live afterwards loses the mark.
     */
    default void markFrozen(String space, long[] vaddrs) {
        throw new UnsupportedOperationException("this page store keeps no frozen pages");
    }

    /** Whether the page at {@code key} is held as the frozen process has it ({@link #markFrozen}). */
    default boolean frozen(PageKey key) {
        return false;
    }

    /** Number of keys held. */
    int size();

    @Override
    void close();
}
