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
 * second read: {@link PageCrcs}), in one pass on a thread per core ({@link PagesFileScan}).
 * Refuses anything but regular files with safe names (a link could make the sender read outside
 * the image).
 */
public record ImageScan(Path dir, ImageManifest manifest, Map<String, long[]> pageDigests, Map<String, int[]> pageCrcs) {
    /** Read size for the other files (64 KiB: a larger array costs its zeroing, and they are small). */
    private static final int BUFFER = 64 << 10;

    /** Scans {@code dir}; {@code migrationId} and {@code round} only label refusals. */
    public static ImageScan of(Path dir, String migrationId, int round) {
        return of(dir, migrationId, round, Map.of());
    }

    /**
     * As {@link #of(Path, String, int)}, with the first pages of pages files digested already
     * ({@link PagesFileFollower}), by file name: only the pages after them are read.
     */
    public static ImageScan of(Path dir, String migrationId, int round, Map<String, PagesFileFollower.Digested> ahead) {
        List<Path> paths = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            ds.forEach(paths::add);
        } catch (IOException e) {
            throw new UncheckedIOException("listing image directory " + dir, e);
        }
        paths.sort(Comparator.comparing(p -> p.getFileName().toString()));
        long[] sizes = new long[paths.size()];
        List<PagesFileScan.Target> pagesFiles = new ArrayList<>();
        for (int k = 0; k < paths.size(); k++) {
            Path p = paths.get(k);
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
            sizes[k] = a.size();
            if (isPagesFile(name, a.size())) pagesFiles.add(new PagesFileScan.Target(p, a.size()).after(ahead.get(name)));
        }
        List<ImageManifest.File> files = new ArrayList<>();
        // the other files are hashed here while the other cores start on the pages
        PagesFileScan.scan(pagesFiles, () -> hashOtherFiles(paths, sizes, files));
        Map<String, long[]> digests = new HashMap<>();
        Map<String, int[]> crcs = new HashMap<>();
        for (PagesFileScan.Target f : pagesFiles) {
            digests.put(f.path().getFileName().toString(), f.digests());
            crcs.put(f.path().getFileName().toString(), f.crcs());
        }
        return new ImageScan(dir, new ImageManifest(files), digests, crcs);
    }

    /** The manifest's entries of {@code paths}, in order: pages files without a digest, the others with their SHA-256. */
    private static void hashOtherFiles(List<Path> paths, long[] sizes, List<ImageManifest.File> files) {
        byte[] buf = new byte[BUFFER];
        for (int k = 0; k < paths.size(); k++) {
            Path p = paths.get(k);
            String name = p.getFileName().toString();
            if (isPagesFile(name, sizes[k])) {
                files.add(new ImageManifest.File(name, sizes[k], new byte[0]));
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
            if (length != sizes[k]) throw new IllegalStateException(p + " changed while scanned: " + sizes[k] + " -> " + length);
            files.add(new ImageManifest.File(name, length, sha.digest()));
        }
    }

    private static boolean isPagesFile(String name, long size) {
        return name.startsWith("pages-") && name.endsWith(".img") && size % PageHash.PAGE_SIZE == 0;
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
