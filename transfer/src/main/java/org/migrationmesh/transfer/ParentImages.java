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
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The last image of each container whose migration to this host ended here, kept by container
 * ({@code DIR/<container>/}: per address space {@code <space>.vaddrs}, the pages' addresses as
 * 8-byte big-endian numbers, and {@code <space>.pages}, the pages in that order). When the
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
     * of {@code container}, replacing any before; returns the pages kept. Written aside and
     * renamed into place, so a crash leaves the old image or the new one.
     */
    synchronized long keep(String container, FilePageStore store) {
        ImageManifest.checkName(container);
        Map<String, TreeSet<Long>> spaces = new TreeMap<>();
        for (PageKey k : store.heldKeys()) spaces.computeIfAbsent(k.space(), s -> new TreeSet<>()).add(k.vaddr());
        if (spaces.isEmpty()) return 0;
        Path next = dir.resolve("." + container + "-" + UUID.randomUUID());
        long kept = 0;
        try {
            Files.createDirectories(next);
            byte[] page = new byte[PageHash.PAGE_SIZE];
            for (Map.Entry<String, TreeSet<Long>> e : spaces.entrySet()) {
                ImageManifest.checkName(e.getKey());
                ByteBuffer addrs = ByteBuffer.allocate(e.getValue().size() * Long.BYTES);
                try (FileChannel pages = FileChannel.open(next.resolve(e.getKey() + ".pages"), StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE)) {
                    for (long vaddr : e.getValue()) {
                        if (!store.read(new PageKey(e.getKey(), vaddr), page, 0)) continue;
                        ByteBuffer b = ByteBuffer.wrap(page);
                        while (b.hasRemaining()) pages.write(b);
                        addrs.putLong(vaddr);
                        kept++;
                    }
                }
                Files.write(next.resolve(e.getKey() + ".vaddrs"), java.util.Arrays.copyOf(addrs.array(), addrs.position()));
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
     * Puts the pages of the parent image of {@code container}, if one is kept, into
     * {@code store} as live pages (pages sent live later replace them); returns what it put.
     */
    synchronized List<Seeded> seed(String container, PageStore store) {
        ImageManifest.checkName(container);
        Path image = dir.resolve(container);
        List<Seeded> seeded = new ArrayList<>();
        if (!Files.isDirectory(image)) return seeded;
        try (Stream<Path> files = Files.list(image)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".vaddrs")).sorted().toList()) {
                String name = f.getFileName().toString();
                String space = name.substring(0, name.length() - ".vaddrs".length());
                ByteBuffer addrs = ByteBuffer.wrap(Files.readAllBytes(f));
                long[] vaddrs = new long[addrs.remaining() / Long.BYTES];
                for (int i = 0; i < vaddrs.length; i++) vaddrs[i] = addrs.getLong();
                long[] digests = new long[vaddrs.length];
                byte[] page = new byte[PageHash.PAGE_SIZE];
                try (FileChannel pages = FileChannel.open(image.resolve(space + ".pages"), StandardOpenOption.READ)) {
                    if (pages.size() != (long) vaddrs.length * PageHash.PAGE_SIZE) {
                        throw new IOException(image.resolve(space + ".pages") + " holds " + pages.size() + " bytes for "
                                + vaddrs.length + " pages");
                    }
                    for (int i = 0; i < vaddrs.length; i++) {
                        ByteBuffer b = ByteBuffer.wrap(page);
                        long pos = (long) i * PageHash.PAGE_SIZE;
                        while (b.hasRemaining()) {
                            int n = pages.read(b, pos + b.position());
                            if (n < 0) throw new IOException("short " + image.resolve(space + ".pages"));
                        }
                        store.putLive(new PageKey(space, vaddrs[i]), page, 0);
                        digests[i] = PageHash.of(page, 0);
                    }
                }
                seeded.add(new Seeded(space, vaddrs, digests));
            }
        } catch (IOException | IllegalArgumentException e) {
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
