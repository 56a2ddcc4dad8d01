package org.migrationmesh.agent.runtime;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Facts about a CRIU image directory. */
public final class Images {
    private Images() {}

    /** Fails with a clear error unless {@code dir} looks like a CRIU image directory. */
    static void check(String id, Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new RuntimeFailure(id, Phase.RESTORE, "image directory " + dir + " does not exist");
        }
        if (!Files.isRegularFile(dir.resolve("inventory.img"))) {
            throw new RuntimeFailure(id, Phase.RESTORE, "image directory " + dir
                    + " has no inventory.img: not a complete CRIU checkpoint");
        }
    }

    /** Copies the files of image directory {@code from} into {@code to} (created); returns {@code to}. */
    public static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }

    /**
     * Links the files of image directory {@code from} into {@code into}, but those {@code into}
     * has already and those named in {@code skip} (copied where a link cannot be made: another
     * file system).
     */
    public static void link(Path from, Path into, java.util.Set<String> skip) throws IOException {
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                Path to = into.resolve(f.getFileName());
                if (skip.contains(f.getFileName().toString()) || Files.exists(to, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                try {
                    Files.createLink(to, f);
                } catch (IOException | UnsupportedOperationException e) {
                    Files.copy(f, to);
                }
            }
        }
    }

    /**
     * Removes an image, work, bundle or data directory and everything in it; absent is fine. What is
     * mounted under it in this mount namespace (an agent's {@link TmpfsMounts}, left by an agent or
     * world that did not end cleanly) is unmounted first, not emptied.
     */
    public static void delete(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        TmpfsMounts.unmountUnder(dir);
        // Another thread may be removing the same tree (a migration's runner and the leftovers sweep
        // that its end starts): what is gone already is not a failure.
        Files.walkFileTree(dir, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult visitFile(Path file, java.nio.file.attribute.BasicFileAttributes attrs)
                    throws IOException {
                Files.deleteIfExists(file);
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof java.nio.file.NoSuchFileException) return java.nio.file.FileVisitResult.CONTINUE;
                throw e;
            }

            @Override
            public java.nio.file.FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null && !(e instanceof java.nio.file.NoSuchFileException)) throw e;
                Files.deleteIfExists(d);
                return java.nio.file.FileVisitResult.CONTINUE;
            }
        });
    }

    /** Total bytes of the regular files directly in {@code dir}. */
    public static long size(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).sum();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list image directory " + dir, e);
        }
    }
}
