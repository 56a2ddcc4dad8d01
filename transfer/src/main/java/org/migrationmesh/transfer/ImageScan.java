package org.migrationmesh.transfer;

import org.migrationmesh.transfer.TransferRefusedException.Reason;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The sender's one read pass over an image directory: the manifest (length and SHA-256 of every
 * file but pages files, whose file digest is computed while they are streamed or, when planned,
 * from their page digests: {@link PageListDigest}) and, for every 4 KiB page of each pages file,
 * its {@link PageHash} digest and its CRC32C (so chunks of pages the receiver holds need no
 * second read: {@link PageCrcs}). Refuses anything but regular files with safe names (a link
 * could make the sender read outside the image).
 */
public record ImageScan(Path dir, ImageManifest manifest, Map<String, long[]> pageDigests, Map<String, int[]> pageCrcs) {
    private static final int BUFFER = 1 << 20;
    private static final int MAX_THREADS = 4;
    /** Bytes of a pages file per scanning thread, at least. */
    private static final long PARALLEL_FROM = 32L << 20;

    /** Scans {@code dir}; {@code migrationId} and {@code round} only label refusals. */
    public static ImageScan of(Path dir, String migrationId, int round) {
        List<Path> paths = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            ds.forEach(paths::add);
        } catch (IOException e) {
            throw new UncheckedIOException("listing image directory " + dir, e);
        }
        paths.sort(Comparator.comparing(p -> p.getFileName().toString()));
        List<ImageManifest.File> files = new ArrayList<>();
        Map<String, long[]> digests = new HashMap<>();
        Map<String, int[]> crcs = new HashMap<>();
        byte[] buf = new byte[BUFFER];
        for (Path p : paths) {
            String name = p.getFileName().toString();
            try {
                ImageManifest.checkName(name);
            } catch (IllegalArgumentException e) {
                throw new TransferRefusedException(migrationId, round, Reason.BAD_NAME, name, e.getMessage(), e);
            }
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (IOException e) {
                throw new UncheckedIOException("reading attributes of " + p, e);
            }
            if (!a.isRegularFile()) {
                throw new TransferRefusedException(migrationId, round, Reason.NOT_A_REGULAR_FILE, name,
                        a.isSymbolicLink() ? "is a symbolic link" : "is not a regular file");
            }
            boolean pages = name.startsWith("pages-") && name.endsWith(".img") && a.size() % PageHash.PAGE_SIZE == 0;
            if (pages) {
                long[] pd = new long[Math.toIntExact(a.size() / PageHash.PAGE_SIZE)];
                int[] pc = new int[pd.length];
                pageDigests(p, a.size(), pd, pc);
                digests.put(name, pd);
                crcs.put(name, pc);
                files.add(new ImageManifest.File(name, a.size(), new byte[0]));
                continue;
            }
            MessageDigest sha = ReceiveSession.sha256();
            long length = 0;
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                while (true) {
                    int n = readFully(ch, buf);
                    if (n == 0) break;
                    sha.update(buf, 0, n);
                    length += n;
                }
            } catch (IOException e) {
                throw new UncheckedIOException("reading image file " + p, e);
            }
            if (length != a.size()) throw new IllegalStateException(p + " changed while scanned: " + a.size() + " -> " + length);
            files.add(new ImageManifest.File(name, length, sha.digest()));
        }
        return new ImageScan(dir, new ImageManifest(files), digests, crcs);
    }

    /**
     * The digest and CRC32C of every page of a pages file of {@code size} bytes. A large file is split in
     * ranges hashed on threads of their own (one per core, at most {@value #MAX_THREADS}): the
     * scan is a pass over the whole image before anything is sent, so it alone decides how long
     * the other cores idle.
     */
    private static void pageDigests(Path p, long size, long[] pd, int[] pc) {
        int parts = (int) Math.max(1, Math.min(Math.min(MAX_THREADS, Runtime.getRuntime().availableProcessors()),
                size / PARALLEL_FROM));
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            if (parts == 1) {
                digestRange(ch, p, 0, pd.length, pd, pc);
            } else {
                List<Thread> threads = new ArrayList<>();
                Throwable[] failure = new Throwable[parts];
                for (int k = 0; k < parts; k++) {
                    int from = (int) ((long) pd.length * k / parts), to = (int) ((long) pd.length * (k + 1) / parts);
                    int part = k;
                    Thread t = new Thread(() -> {
                        try {
                            digestRange(ch, p, from, to, pd, pc);
                        } catch (Throwable e) {
                            failure[part] = e;
                        }
                    }, "image-scan-" + k);
                    t.setDaemon(true);
                    t.start();
                    threads.add(t);
                }
                for (Thread t : threads) t.join();
                for (Throwable e : failure) {
                    if (e instanceof RuntimeException re) throw re;
                    if (e instanceof Error err) throw err;
                    if (e != null) throw new IllegalStateException("scanning " + p, e);
                }
            }
            if (ch.size() != size) throw new IllegalStateException(p + " changed while scanned: " + size + " -> " + ch.size());
        } catch (IOException e) {
            throw new UncheckedIOException("reading image file " + p, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted scanning " + p, e);
        }
    }

    /** Digests and CRC32Cs of pages {@code [from, to)} into {@code pd}, {@code pc}, read by position (the channel is shared). */
    private static void digestRange(FileChannel ch, Path p, int from, int to, long[] pd, int[] pc) {
        byte[] buf = new byte[BUFFER];
        ByteBuffer b = ByteBuffer.wrap(buf);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        try {
            for (int page = from; page < to; ) {
                int pages = Math.min(to - page, BUFFER / PageHash.PAGE_SIZE);
                b.clear().limit(pages * PageHash.PAGE_SIZE);
                long pos = (long) page * PageHash.PAGE_SIZE;
                while (b.hasRemaining()) {
                    int n = ch.read(b, pos + b.position());
                    if (n < 0) throw new IllegalStateException(p + " changed while scanned: ends at " + (pos + b.position()));
                }
                for (int i = 0; i < pages; i++) {
                    pd[page + i] = PageHash.of(buf, i * PageHash.PAGE_SIZE);
                    crc.reset();
                    crc.update(buf, i * PageHash.PAGE_SIZE, PageHash.PAGE_SIZE);
                    pc[page + i] = (int) crc.getValue();
                }
                page += pages;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading image file " + p, e);
        }
    }

    /** The page addresses of pages file {@code name} as its pagemap in this image lays them out. */
    public Optional<PagemapLayout> layoutOf(String name) {
        for (ImageManifest.File f : manifest.files()) {
            Optional<String> space = PagemapImage.spaceOf(f.name());
            if (space.isEmpty()) continue;
            PagemapImage pm;
            try {
                pm = PagemapImage.parse(Files.readAllBytes(dir.resolve(f.name())));
            } catch (IllegalArgumentException e) {
                continue;
            } catch (IOException e) {
                throw new UncheckedIOException("reading " + f.name(), e);
            }
            if (!pm.pagesFileName().equals(name)) continue;
            long length = manifest.files().get(manifest.indexOf(name).orElseThrow()).length();
            return pm.pageAddresses(length).map(v -> new PagemapLayout(space.get(), v));
        }
        return Optional.empty();
    }

    /** Where each page of a pages file belongs: address space and virtual addresses in file order. */
    public record PagemapLayout(String space, long[] vaddrs) {}

    /** Reads until {@code buf} is full or the file ends; returns the count. */
    static int readFully(FileChannel ch, byte[] buf) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(buf);
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) break;
        }
        return b.position();
    }
}
