package org.migrationmesh.agent.runtime;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Archives of a container's tmpfs mounts as {@code mmtar} writes them (POSIX ustar: numeric
 * owners, the mode, the modification time in seconds; "./" for the top, "./d/" for a directory),
 * written and read here without a process when they hold only directories, regular files and
 * symbolic links, as a container's /tmp and /dev/shm do: every process started is milliseconds
 * of a downtime on two cores (measured on the tour, mmtar's archive of the game server's /tmp
 * took 3-10 ms beside CRIU's dump, its extraction 2-5 ms before the restore's gate). Anything
 * else (a device, a FIFO, a hard link, a name ustar cannot hold, GNU or pax extensions) is
 * {@code mmtar}'s. What this writes is mmtar's archive of the same tree byte for byte, so
 * either end reads the other's. Pure.
 */
public final class TmpfsArchive {
    static final int BLOCK = 512;
    private static final int NAME = 100, PREFIX = 155, LINK = 100;

    /**
     * One member: its path as the archive names it ("./" for the top, "./a", "./d/"), its type
     * ({@code '0'} a regular file, {@code '5'} a directory, {@code '2'} a symbolic link), the
     * permission bits with sticky, setgid and setuid, owner, modification time, a file's content
     * (empty otherwise) and a link's target (null otherwise).
     */
    public record Member(String path, char type, int mode, int uid, int gid, long mtimeSeconds, byte[] content, String link) {
        public Member {
            if (type != '0' && type != '5' && type != '2') throw new IllegalArgumentException("member type " + type);
            if ((type == '2') != (link != null)) throw new IllegalArgumentException("a link target goes with a symbolic link only: " + path);
            if (content == null) content = new byte[0];
            if (type != '0' && content.length > 0) throw new IllegalArgumentException("content of a non-file: " + path);
        }

        /** A directory's or the top's member ({@code path} ending in '/'). */
        public static Member directory(String path, int mode, int uid, int gid, long mtimeSeconds) {
            return new Member(path, '5', mode, uid, gid, mtimeSeconds, null, null);
        }

        /** The path below the top, without "./" or a directory's trailing '/' ("" for the top). */
        public String relative() {
            String p = path.startsWith("./") ? path.substring(2) : path;
            return p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
        }
    }

    private TmpfsArchive() {}

    /** The archive of {@code members} (the top first, parents before what they hold); empty if ustar cannot say one of them. */
    public static Optional<byte[]> write(List<Member> members) {
        long size = 2L * BLOCK;
        for (Member m : members) size += BLOCK + padded(m.content().length);
        if (size > Integer.MAX_VALUE - 8) return Optional.empty();
        byte[] a = new byte[(int) size];
        int at = 0;
        for (Member m : members) {
            if (!header(a, at, m)) return Optional.empty();
            at += BLOCK;
            System.arraycopy(m.content(), 0, a, at, m.content().length);
            at += padded(m.content().length);
        }
        return Optional.of(a); // two zero blocks end it
    }

    /**
     * The members of {@code archive} if it is one this class writes; empty if it holds anything
     * else (mmtar's then), a member below a symbolic link of the archive among them: no tree has
     * one, and written out it would land wherever the link points (mmtar opens each directory
     * without following links).
     */
    public static Optional<List<Member>> read(byte[] archive) {
        List<Member> members = new ArrayList<>();
        java.util.Set<String> links = new java.util.HashSet<>();
        int at = 0;
        while (true) {
            if (at + BLOCK > archive.length) return Optional.empty(); // ends without its zero blocks
            if (isZero(archive, at)) {
                for (int i = at; i < archive.length; i++) if (archive[i] != 0) return Optional.empty();
                return archive.length - at >= 2 * BLOCK ? Optional.of(members) : Optional.empty();
            }
            if (!new String(archive, at + 257, 8, StandardCharsets.ISO_8859_1).equals("ustar\u000000")) return Optional.empty();
            long sum = parseOctal(archive, at + 148, 8);
            if (sum != checksum(archive, at)) return Optional.empty();
            char type = (char) archive[at + 156];
            if (type == 0) type = '0';
            if (type != '0' && type != '5' && type != '2') return Optional.empty(); // devices, FIFOs, hard links, extensions
            String name = field(archive, at, NAME), prefix = field(archive, at + 345, PREFIX);
            String path = prefix.isEmpty() ? name : prefix + "/" + name;
            long mode = parseOctal(archive, at + 100, 8), uid = parseOctal(archive, at + 108, 8), gid = parseOctal(archive, at + 116, 8);
            long size = parseOctal(archive, at + 124, 12), mtime = parseOctal(archive, at + 136, 12);
            if (mode < 0 || mode > 07777 || uid < 0 || gid < 0 || size < 0 || mtime < 0 || !safe(path)) return Optional.empty();
            if (type != '0' && size != 0) return Optional.empty();
            if (members.isEmpty() != path.equals("./")) return Optional.empty(); // the top first, and only there
            if ((type == '5') != path.endsWith("/")) return Optional.empty();
            String link = type == '2' ? field(archive, at + 157, LINK) : null;
            at += BLOCK;
            if (at + size > archive.length) return Optional.empty();
            byte[] content = Arrays.copyOfRange(archive, at, at + (int) size);
            at += padded(size);
            Member m = new Member(path, type, (int) mode, (int) uid, (int) gid, mtime, content, link);
            String rel = m.relative();
            for (int slash = rel.indexOf('/'); slash > 0; slash = rel.indexOf('/', slash + 1)) {
                if (links.contains(rel.substring(0, slash))) return Optional.empty();
            }
            if (type == '2') links.add(rel);
            members.add(m);
        }
    }

    /** Writes {@code m}'s header at {@code at}, as mmtar does; false if a name or value does not fit. */
    private static boolean header(byte[] a, int at, Member m) {
        if (!safe(m.path())) return false;
        byte[] path = m.path().getBytes(StandardCharsets.UTF_8);
        if (path.length <= NAME) {
            System.arraycopy(path, 0, a, at, path.length);
        } else {
            int cut = -1; // the last '/' that leaves a name of at most 100 and a prefix of at most 155
            for (int i = path.length - 1; i > 0; i--) {
                if (path[i] != '/') continue;
                if (path.length - i - 1 > NAME) break;
                if (i > PREFIX || path.length - i - 1 == 0) continue;
                cut = i;
                break;
            }
            if (cut < 0) return false;
            System.arraycopy(path, 0, a, at + 345, cut);
            System.arraycopy(path, cut + 1, a, at, path.length - cut - 1);
        }
        if (!octal(a, at + 100, 8, m.mode() & 07777) || !octal(a, at + 108, 8, m.uid()) || !octal(a, at + 116, 8, m.gid())
                || m.mtimeSeconds() < 0 || !octal(a, at + 136, 12, m.mtimeSeconds()) || !octal(a, at + 124, 12, m.content().length)) {
            return false;
        }
        a[at + 156] = (byte) m.type();
        if (m.link() != null) {
            byte[] link = m.link().getBytes(StandardCharsets.UTF_8);
            if (link.length > LINK || link.length == 0) return false;
            System.arraycopy(link, 0, a, at + 157, link.length);
        }
        put(a, at + 257, "ustar");
        put(a, at + 263, "00");
        octal(a, at + 148, 7, checksum(a, at)); // six digits and a NUL, then a space
        a[at + 155] = ' ';
        return true;
    }

    /** The header's checksum, its own field counted as spaces. */
    private static long checksum(byte[] a, int at) {
        long sum = 0;
        for (int i = 0; i < BLOCK; i++) sum += (i >= 148 && i < 156) ? ' ' : a[at + i] & 0xff;
        return sum;
    }

    /** A member's path stays below the top: "./" first, no "..", no empty component but a directory's last. */
    private static boolean safe(String path) {
        if (!path.startsWith("./") || path.indexOf('\0') >= 0) return false;
        String rest = path.substring(2);
        if (rest.isEmpty()) return true;
        if (rest.endsWith("/")) rest = rest.substring(0, rest.length() - 1);
        for (String c : rest.split("/", -1)) if (c.isEmpty() || c.equals(".") || c.equals("..")) return false;
        return true;
    }

    private static int padded(long size) {
        return (int) ((size + BLOCK - 1) / BLOCK * BLOCK);
    }

    private static boolean isZero(byte[] a, int at) {
        for (int i = at; i < at + BLOCK; i++) if (a[i] != 0) return false;
        return true;
    }

    /** A NUL-padded text field. */
    private static String field(byte[] a, int at, int len) {
        int end = at;
        while (end < at + len && a[end] != 0) end++;
        return new String(a, at, end - at, StandardCharsets.UTF_8);
    }

    private static void put(byte[] a, int at, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, a, at, b.length);
    }

    /** {@code v} in octal into {@code len} bytes: len - 1 digits and a NUL; false if it does not fit. */
    private static boolean octal(byte[] a, int at, int len, long v) {
        String digits = Long.toOctalString(v);
        if (v < 0 || digits.length() > len - 1) return false;
        put(a, at, "0".repeat(len - 1 - digits.length()) + digits);
        a[at + len - 1] = 0;
        return true;
    }

    /** An octal field (leading spaces, digits up to a space or NUL); -1 if it is none. */
    private static long parseOctal(byte[] a, int at, int len) {
        int i = at, end = at + len;
        while (i < end && a[i] == ' ') i++;
        long v = 0;
        int digits = 0;
        for (; i < end && a[i] != 0 && a[i] != ' '; i++, digits++) {
            if (a[i] < '0' || a[i] > '7') return -1;
            v = v * 8 + (a[i] - '0');
        }
        return digits == 0 ? -1 : v;
    }
}
