package org.migrationmesh.agent.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Trees as a container's tmpfs mounts hold them, for the archive tests, and what an archive keeps of a tree. */
final class TmpfsSamples {
    private TmpfsSamples() {}

    /**
     * Directories (one sticky, like /tmp), files of several sizes, modes and owners (an empty
     * one, one of exactly a block, one of three), symbolic links: what mmtar and the agent archive
     * alike. The caller adds what it needs more, then {@link #stamp}s it.
     */
    static Path plainTree(Path dir) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("games.log"), "a line\n".repeat(100));
        Files.createDirectories(dir.resolve("oa/baseoa"));
        Files.writeString(dir.resolve("oa/baseoa/q3config.cfg"), "seta sv_hostname mm\n");
        byte[] block = new byte[1536];
        for (int i = 0; i < block.length; i++) block[i] = (byte) i;
        Files.write(dir.resolve("oa/three-blocks.bin"), block);
        Files.write(dir.resolve("oa/one-block.bin"), java.util.Arrays.copyOf(block, 512));
        Files.write(dir.resolve("empty"), new byte[0]);
        Files.setAttribute(dir.resolve("oa/baseoa/q3config.cfg"), "unix:mode", 0640);
        Files.createDirectories(dir.resolve("shm"));
        Files.setAttribute(dir.resolve("shm"), "unix:mode", 01777);
        Files.createSymbolicLink(dir.resolve("fd"), Path.of("/proc/self/fd"));
        Files.createSymbolicLink(dir.resolve("ptmx"), Path.of("pts/ptmx"));
        Files.createSymbolicLink(dir.resolve("oa/config"), Path.of("baseoa/q3config.cfg"));
        Files.setAttribute(dir.resolve("games.log"), "unix:uid", 1000);
        Files.setAttribute(dir.resolve("games.log"), "unix:gid", 1001);
        return dir;
    }

    /** Gives every entry under {@code dir} a modification time of its own, with {@code touch -h}: it never opens them (a FIFO would wait). */
    static void stamp(Path dir) throws Exception {
        long second = Instant.parse("2026-11-30T12:00:00Z").getEpochSecond();
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Process touch = new ProcessBuilder(List.of("touch", "-h", "-d", "@" + second--, p.toString())).inheritIO().start();
                if (!touch.waitFor(10, TimeUnit.SECONDS) || touch.exitValue() != 0) throw new IOException("touch -h " + p + " failed");
            }
        }
    }

    /** Every entry under {@code root} as what tar keeps of it: type, mode, owner, time, size and content or target. */
    static Map<String, String> tree(Path root) throws IOException {
        Map<String, String> entries = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.toList()) {
                Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,rdev,lastModifiedTime,size",
                        LinkOption.NOFOLLOW_LINKS);
                boolean link = Files.isSymbolicLink(p);
                String what = String.format("mode=%o uid=%s gid=%s rdev=%s", a.get("mode"), a.get("uid"), a.get("gid"), a.get("rdev"))
                        + (link ? " -> " + Files.readSymbolicLink(p) : " mtime=" + a.get("lastModifiedTime"))
                        + (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) ? " content=" + java.util.Arrays.hashCode(Files.readAllBytes(p))
                        + " size=" + a.get("size") : "");
                entries.put(root.relativize(p).toString(), what);
            }
        }
        return entries;
    }
}
