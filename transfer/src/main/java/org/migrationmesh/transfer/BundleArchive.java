package org.migrationmesh.transfer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A container bundle (config.json and rootfs/) as one archive, so it travels like an image file:
 * by content digest, sent once to a host and reused after. The archive is a GNU tar with entries
 * sorted by name and numeric owners, so the same bundle packs to the same bytes (and digest).
 * Uses the host's {@code tar}.
 */
public final class BundleArchive {
    /** The archive's name inside the directory that is sent. */
    public static final String FILE_NAME = "bundle.tar";
    private static final long TIMEOUT_SECONDS = 600;

    private BundleArchive() {}

    /** Packs {@code bundleDir} into {@code outDir/bundle.tar}; returns the archive. */
    public static Path pack(Path bundleDir, Path outDir) {
        Path tar = outDir.resolve(FILE_NAME);
        run(List.of("tar", "--sort=name", "--numeric-owner", "--format=gnu", "-C", bundleDir.toString(),
                "-cf", tar.toString(), "."));
        return tar;
    }

    /** Unpacks an archive into {@code bundleDir} (created if missing), keeping owners and modes. */
    public static void unpack(Path archive, Path bundleDir) {
        try {
            Files.createDirectories(bundleDir);
        } catch (IOException e) {
            throw new UncheckedIOException("creating " + bundleDir, e);
        }
        run(List.of("tar", "--numeric-owner", "--same-permissions", "--same-owner", "-C", bundleDir.toString(),
                "-xf", archive.toString()));
    }

    private static void run(List<String> argv) {
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(argv + " did not finish in " + TIMEOUT_SECONDS + " s");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(argv + " exited " + p.exitValue() + ": " + new String(out).strip());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("running " + argv, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + argv, e);
        }
    }
}
