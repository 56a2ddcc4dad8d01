package org.migrationmesh.transfer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The last image of each container that came to this host, or that left it (the dump that took
 * it away, {@link #keepDump}: newer than the one it came with), kept by container
 * ({@code DIR/<container>/}: per file of pages {@code <space>-<n>.pages}, a link to a pages file
 * of the migration, and {@code <space>-<n>.vaddrs}, the address of each of its pages as 8-byte
 * big-endian numbers, -1 for a page that is not the newest of its address). When the
 * container comes back, its new migration starts from it (CRIU calls the image a dump builds on
 * its parent): most of a process's memory is what it was, and only pages that differ travel.
 * Only the newest image of a container is kept. Thread-safe.
 */
final class ParentImages {
    /** What a parent image gave a page store: per address space, the pages' addresses and digests. */
    record Seeded(String space, long[] vaddrs, long[] digests) {}

    private final Path dir;

    ParentImages(Path dir) {
        this.dir = dir;
    }

    /**
     * Makes the pages {@code store} holds (the newest content at each address) the parent image
     * of {@code container}, replacing any before; returns the pages kept. The store's files are
     * linked, not copied (they no longer change once its migration has ended; a copy is the
     * fallback), and each gets the addresses of its pages. Written aside and renamed into place,
     * so a crash leaves the old image or the new one.
     */
    synchronized long keep(String container, FilePageStore store) {
        return install(container, store.heldFiles());
    }

    /**
     * Makes the pages of a dump in {@code images} (CRIU's pages files, laid out by its pagemaps)
     * the parent image of {@code container}, replacing any before; returns the pages kept (0 if
     * no pagemap lays out a pages file). For the host a container leaves: the dump is the
     * container's memory as it left, newer than the image it came with, so a return trip sends
     * only what changed since it left. Linked, not copied, as {@link #keep}: the dump may be
     * deleted afterwards.
     */
    synchronized long keepDump(String container, Path images) {
        List<FilePageStore.HeldFile> files = new ArrayList<>();
        try (Stream<Path> list = Files.list(images)) {
            for (Path f : list.sorted().toList()) {
                java.util.Optional<String> space = PagemapImage.spaceOf(f.getFileName().toString());
                if (space.isEmpty()) continue;
                PagemapImage pm;
                try {
                    pm = PagemapImage.parse(Files.readAllBytes(f));
                } catch (IllegalArgumentException e) {
                    continue; // not a pagemap we understand: its pages are not kept
                }
                Path pages = images.resolve(pm.pagesFileName());
                if (!Files.isRegularFile(pages)) continue;
                pm.pageAddresses(Files.size(pages)).ifPresent(v -> files.add(new FilePageStore.HeldFile(pages, space.get(), v)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading the dump in " + images, e);
        }
        return install(container, files);
    }

    private long install(String container, List<FilePageStore.HeldFile> files) {
        ImageManifest.checkName(container);
        if (files.isEmpty()) return 0;
        Path next = dir.resolve("." + container + "-" + UUID.randomUUID());
        long kept = 0;
        try {
            Files.createDirectories(next);
            int n = 0;
            for (FilePageStore.HeldFile f : files) {
                ImageManifest.checkName(f.space());
                String name = f.space() + "-" + n++;
                Path pages = next.resolve(name + ".pages");
                try {
                    Files.createLink(pages, f.path());
                } catch (UnsupportedOperationException | IOException e) {
                    Files.copy(f.path(), pages);
                }
                ByteBuffer addrs = ByteBuffer.allocate(f.vaddrs().length * Long.BYTES);
                for (long v : f.vaddrs()) {
                    addrs.putLong(v);
                    if (v != -1) kept++;
                }
                Files.write(next.resolve(name + ".vaddrs"), addrs.array());
            }
            Path target = dir.resolve(container);
            Path old = null;
            if (Files.exists(target)) {
                old = dir.resolve("." + container + "-old-" + UUID.randomUUID());
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(next, target, StandardCopyOption.ATOMIC_MOVE);
            if (old != null) MigrationImages.deleteTree(old);
            return kept;
        } catch (IOException e) {
            MigrationImages.deleteTree(next);
            throw new UncheckedIOException("keeping the parent image of " + container + " in " + dir, e);
        } catch (RuntimeException e) {
            MigrationImages.deleteTree(next);
            throw e;
        }
    }

    /**
     * Has {@code store} hold the pages of the parent image of {@code container}, if one is
     * kept, where they are ({@link FilePageStore#adoptParent}: pages sent live later replace
     * them); returns what it took.
     */
    synchronized List<Seeded> seed(String container, FilePageStore store) {
        ImageManifest.checkName(container);
        Path image = dir.resolve(container);
        List<Seeded> seeded = new ArrayList<>();
        if (!Files.isDirectory(image)) return seeded;
        try (Stream<Path> files = Files.list(image)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".vaddrs")).sorted().toList()) {
                String name = f.getFileName().toString();
                String base = name.substring(0, name.length() - ".vaddrs".length());
                int dash = base.lastIndexOf('-');
                String space = dash > 0 ? base.substring(0, dash) : base;
                ByteBuffer addrs = ByteBuffer.wrap(Files.readAllBytes(f));
                long[] at = new long[addrs.remaining() / Long.BYTES];
                for (int i = 0; i < at.length; i++) at[i] = addrs.getLong();
                long[][] taken = store.adoptParent(image.resolve(base + ".pages"), space, at);
                seeded.add(new Seeded(space, taken[0], taken[1]));
            }
        } catch (IOException | UncheckedIOException | IllegalArgumentException e) {
            // A damaged parent only costs bytes: the migration starts from nothing, as without one.
            drop(container);
            return List.of();
        }
        return seeded;
    }

    /** Containers with a parent image kept here. */
    synchronized List<String> containers() {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> children = Files.list(dir)) {
            return children.filter(Files::isDirectory).map(p -> p.getFileName().toString())
                    .filter(n -> !n.startsWith(".")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + dir, e);
        }
    }

    /** Deletes the parent image of {@code container}, if any. */
    synchronized void drop(String container) {
        ImageManifest.checkName(container);
        MigrationImages.deleteTree(dir.resolve(container));
    }
}
