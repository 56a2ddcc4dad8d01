package org.migrationmesh.agent.runtime;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;

/**
 * The archive of an empty tmpfs as {@code mmtar} writes it (POSIX ustar: the entry "./" with the
 * directory's mode, owner and modification time, then two zero blocks), written and recognized
 * here without a process: most tmpfs mounts of a migrating container are empty, and each process
 * is milliseconds of a downtime on two cores. Anything else is {@code mmtar}'s. Pure.
 */
public final class TmpfsArchive {
    static final int BLOCK = 512;

    /** What the archive of an empty directory holds: its top's mode (permission bits with sticky, setgid, setuid), owner and mtime. */
    public record Top(int mode, int uid, int gid, long mtimeSeconds) {}

    private TmpfsArchive() {}

    /** The archive of an empty directory with {@code top}'s attributes, byte for byte as mmtar writes it. */
    public static byte[] ofEmpty(Top top) {
        byte[] a = new byte[3 * BLOCK];
        put(a, 0, "./");
        octal(a, 100, 8, top.mode() & 07777);
        octal(a, 108, 8, top.uid());
        octal(a, 116, 8, top.gid());
        octal(a, 124, 12, 0);
        octal(a, 136, 12, top.mtimeSeconds());
        a[156] = '5';
        put(a, 257, "ustar");
        put(a, 263, "00");
        Arrays.fill(a, 148, 156, (byte) ' ');
        int sum = 0;
        for (int i = 0; i < BLOCK; i++) sum += a[i] & 0xff;
        octal(a, 148, 7, sum); // six digits and a NUL, then the space left there
        return a;
    }

    /** The top's attributes if {@code archive} is that of an empty directory; empty if it holds anything else. */
    public static Optional<Top> emptyTop(byte[] archive) {
        if (archive.length < 3 * BLOCK || archive.length % BLOCK != 0) return Optional.empty();
        for (int i = BLOCK; i < archive.length; i++) if (archive[i] != 0) return Optional.empty();
        if (archive[0] != '.' || archive[1] != '/' || archive[2] != 0 || archive[156] != '5') return Optional.empty();
        if (!new String(archive, 257, 5, StandardCharsets.US_ASCII).equals("ustar")) return Optional.empty();
        long mode = parseOctal(archive, 100, 8), uid = parseOctal(archive, 108, 8), gid = parseOctal(archive, 116, 8);
        long size = parseOctal(archive, 124, 12), mtime = parseOctal(archive, 136, 12);
        if (mode < 0 || uid < 0 || gid < 0 || size != 0 || mtime < 0 || archive[345] != 0) return Optional.empty(); // 345: prefix
        return Optional.of(new Top((int) mode, (int) uid, (int) gid, mtime));
    }

    private static void put(byte[] a, int at, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, a, at, b.length);
    }

    /** {@code v} in octal into {@code len} bytes: len - 1 digits and a NUL. */
    private static void octal(byte[] a, int at, int len, long v) {
        String digits = Long.toOctalString(v);
        if (digits.length() > len - 1) throw new IllegalArgumentException(v + " does not fit a ustar field of " + len);
        put(a, at, "0".repeat(len - 1 - digits.length()) + digits);
        a[at + len - 1] = 0;
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
