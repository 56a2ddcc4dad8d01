package org.migrationmesh.transfer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Files a receiver has published, by SHA-256, across migrations ({@code ROOT/.content/<sha256>},
 * hard links to the published files). A later round or another migration naming the same content
 * gets a link to it instead of the bytes: image files that did not change, and bundles or root
 * file systems (sent as one archive, see {@link BundleArchive}) that travel once per host.
 */
final class ContentStore {
    private final Path dir;

    ContentStore(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("creating " + dir, e);
        }
    }

    /** The held file with this content, if any and of this length. */
    Optional<Path> find(String sha256Hex, long length) {
        Path p = dir.resolve(sha256Hex);
        try {
            return Files.isRegularFile(p) && Files.size(p) == length ? Optional.of(p) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Remembers a published, verified file under its content digest. */
    void add(Path published, String sha256Hex) {
        Path p = dir.resolve(sha256Hex);
        if (Files.exists(p)) return;
        try {
            Files.createLink(p, published);
        } catch (FileAlreadyExistsException e) {
            // another round published the same content meanwhile
        } catch (IOException e) {
            throw new UncheckedIOException("linking " + published + " into " + dir, e);
        }
    }

    /** Puts the held content at {@code target}: a hard link (same file system), else a copy. */
    static void place(Path held, Path target) {
        try {
            try {
                Files.createLink(target, held);
            } catch (UnsupportedOperationException | IOException e) {
                Files.copy(held, target);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("placing " + held + " at " + target, e);
        }
    }
}
