package org.migrationmesh.agent.runtime;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A tmpfs mount's tree as {@link TmpfsArchive} members, read from it and written into it in the
 * agent's own process, as mmtar would (the same members in the same order, the same attributes
 * set the same way), for trees of directories, regular files and symbolic links up to
 * {@link #MOST_BYTES} of content: the rest is left to mmtar.
 */
final class TmpfsTree {
    /** Content a tree may hold to be archived in memory. */
    static final long MOST_BYTES = 16L << 20;
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

    private TmpfsTree() {}

    /**
     * The members of the tree at {@code top}, top first, each directory before what it holds in
     * the order the directory lists them (as mmtar's readdir); empty if it holds anything else
     * than directories, regular files with one link and symbolic links, a mount, or more than
     * {@link #MOST_BYTES}.
     */
    static Optional<List<TmpfsArchive.Member>> list(Path top) throws IOException {
        Map<String, Object> a = Files.readAttributes(top, "unix:mode,uid,gid,dev,lastModifiedTime", NOFOLLOW);
        List<TmpfsArchive.Member> members = new ArrayList<>();
        members.add(TmpfsArchive.Member.directory("./", mode(a), (int) a.get("uid"), (int) a.get("gid"), seconds(a)));
        long[] bytes = {0};
        return list(top, "./", (long) a.get("dev"), members, bytes) ? Optional.of(members) : Optional.empty();
    }

    private static boolean list(Path dir, String path, long dev, List<TmpfsArchive.Member> members, long[] bytes) throws IOException {
        try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
            for (Path child : children) {
                Map<String, Object> a = Files.readAttributes(child, "unix:mode,uid,gid,dev,nlink,size,lastModifiedTime", NOFOLLOW);
                int type = (int) a.get("mode") & 0170000;
                String name = path + child.getFileName();
                int uid = (int) a.get("uid"), gid = (int) a.get("gid");
                if (type == 0040000) { // a directory
                    if ((long) a.get("dev") != dev) return false; // a mount: mmtar archives its mount point only
                    members.add(TmpfsArchive.Member.directory(name + "/", mode(a), uid, gid, seconds(a)));
                    if (!list(child, name + "/", dev, members, bytes)) return false;
                } else if (type == 0100000) { // a regular file
                    if ((int) a.get("nlink") > 1) return false;
                    bytes[0] += (long) a.get("size");
                    if (bytes[0] > MOST_BYTES) return false;
                    members.add(new TmpfsArchive.Member(name, '0', mode(a), uid, gid, seconds(a), Files.readAllBytes(child), null));
                } else if (type == 0120000) { // a symbolic link
                    members.add(new TmpfsArchive.Member(name, '2', mode(a), uid, gid, seconds(a), null,
                            Files.readSymbolicLink(child).toString()));
                } else {
                    return false; // devices, FIFOs, sockets
                }
            }
        }
        return true;
    }

    /**
     * Writes {@code members} into the (empty) tree at {@code top}: files and links as they come,
     * then each directory's owner, mode and time, innermost first, so that what it holds does not
     * change its time afterwards. Owners are set only as root (as tar does).
     */
    static void extract(List<TmpfsArchive.Member> members, Path top) throws IOException {
        boolean root = (int) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0;
        List<TmpfsArchive.Member> dirs = new ArrayList<>();
        for (TmpfsArchive.Member m : members) {
            Path at = placed(top, m);
            if (!at.normalize().startsWith(top)) throw new IOException("member " + m.path() + " lies outside " + top);
            switch (m.type()) {
                case '5' -> {
                    Files.createDirectories(at);
                    dirs.add(m);
                }
                case '0' -> {
                    Files.createDirectories(at.getParent());
                    Files.deleteIfExists(at);
                    Files.write(at, m.content(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                    attributes(at, m, root);
                }
                default -> {
                    Files.createDirectories(at.getParent());
                    Files.deleteIfExists(at);
                    Files.createSymbolicLink(at, Path.of(m.link()));
                    attributes(at, m, root);
                }
            }
        }
        for (int i = dirs.size() - 1; i >= 0; i--) {
            TmpfsArchive.Member d = dirs.get(i);
            attributes(placed(top, d), d, root);
        }
    }

    /** Where member {@code m} goes under {@code top}. */
    private static Path placed(Path top, TmpfsArchive.Member m) {
        return m.relative().isEmpty() ? top : top.resolve(m.relative());
    }

    /** Owner (as root), then mode (a chown clears setgid), then time; a link's mode is its own. */
    private static void attributes(Path at, TmpfsArchive.Member m, boolean root) throws IOException {
        if (root) {
            Files.setAttribute(at, "unix:uid", m.uid(), NOFOLLOW);
            Files.setAttribute(at, "unix:gid", m.gid(), NOFOLLOW);
        }
        if (m.type() != '2') Files.setAttribute(at, "unix:mode", m.mode(), NOFOLLOW);
        Files.getFileAttributeView(at, BasicFileAttributeView.class, NOFOLLOW)
                .setTimes(FileTime.fromMillis(m.mtimeSeconds() * 1000), null, null);
    }

    /**
     * Archives and extracts a small tree {@code rounds} times under {@code dir} (removed after),
     * so that the agent's JIT has compiled this code before a migration runs it, once, inside its
     * downtime (measured on the tour: the destination's fill of the game server's /tmp 1.1-1.9 ms
     * before its restore's gate, interpreted).
     */
    static void warmUp(Path dir, int rounds) throws IOException {
        Images.delete(dir);
        try {
            Path tree = Files.createDirectories(dir.resolve("tree/oa/baseoa"));
            Files.writeString(tree.resolve("games.log"), "  0:00 InitGame: \\sv_hostname\\mm\n".repeat(200));
            Files.writeString(tree.resolve("q3config.cfg"), "seta sv_hostname mm\n");
            Files.createSymbolicLink(tree.resolve("config"), Path.of("q3config.cfg"));
            for (int r = 0; r < rounds; r++) {
                List<TmpfsArchive.Member> members = list(dir.resolve("tree")).orElseThrow();
                byte[] archive = TmpfsArchive.write(members).orElseThrow();
                extract(TmpfsArchive.read(archive).orElseThrow(), Files.createDirectories(dir.resolve("out-" + r)));
            }
        } finally { // once: each removal reads the mount table
            Images.delete(dir);
        }
    }

    private static int mode(Map<String, Object> a) {
        return (int) a.get("mode") & 07777;
    }

    private static long seconds(Map<String, Object> a) {
        return ((FileTime) a.get("lastModifiedTime")).toInstant().getEpochSecond();
    }
}
