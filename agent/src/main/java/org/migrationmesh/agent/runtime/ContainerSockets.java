package org.migrationmesh.agent.runtime;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * Which kinds of sockets a container's processes hold, read from /proc: the socket inodes of
 * every process in the container's pid namespace, matched against its network namespace's
 * TCP tables ({@code /proc/PID/net/tcp} and {@code tcp6}). The network namespace may be shared
 * with the host (and the agent), so only sockets the container's own processes hold count.
 */
public final class ContainerSockets {
    private static final Path PROC = Path.of("/proc");

    private ContainerSockets() {}

    /**
     * Whether any process of the container whose init is {@code initPid} holds a TCP socket
     * (listening or connected, IPv4 or IPv6).
     *
     * @throws RuntimeFailure if the container's processes cannot be read (e.g. it is gone)
     */
    public static boolean holdsTcp(String containerId, int initPid) {
        try {
            Set<Long> tcp = new HashSet<>();
            for (String table : new String[] {"tcp", "tcp6"}) {
                Path file = PROC.resolve(Integer.toString(initPid)).resolve("net").resolve(table);
                if (Files.exists(file)) tcp.addAll(tcpInodes(Files.readString(file)));
            }
            if (tcp.isEmpty()) return false;
            Path pidNs = Files.readSymbolicLink(PROC.resolve(Integer.toString(initPid)).resolve("ns/pid"));
            try (DirectoryStream<Path> procs = Files.newDirectoryStream(PROC, p -> isPid(p.getFileName().toString()))) {
                for (Path proc : procs) {
                    if (!pidNs.equals(readLinkOrNull(proc.resolve("ns/pid")))) continue;
                    if (holdsAny(proc, tcp)) return true;
                }
            }
            return false;
        } catch (IOException e) {
            throw new RuntimeFailure(containerId, Phase.CHECKPOINT, "cannot read the sockets of container " + containerId
                    + " (init pid " + initPid + ") from /proc: " + e.getMessage(), e);
        }
    }

    private static boolean holdsAny(Path proc, Set<Long> inodes) {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
            for (Path fd : fds) {
                Path target = readLinkOrNull(fd);
                if (target != null && inodes.contains(socketInode(target.toString()))) return true;
            }
        } catch (IOException e) {
            // the process ended meanwhile: it holds nothing
        }
        return false;
    }

    /** The inode of an fd link's target {@code socket:[N]}, or -1 for anything else. Pure. */
    static long socketInode(String linkTarget) {
        if (!linkTarget.startsWith("socket:[") || !linkTarget.endsWith("]")) return -1;
        try {
            return Long.parseLong(linkTarget.substring(8, linkTarget.length() - 1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The socket inodes of a {@code /proc/net/tcp} or {@code tcp6} table (10th column; header skipped). Pure. */
    static Set<Long> tcpInodes(String table) {
        Set<Long> inodes = new HashSet<>();
        table.lines().skip(1).forEach(line -> {
            String[] f = line.strip().split("\\s+");
            if (f.length < 10) return;
            try {
                long inode = Long.parseLong(f[9]);
                if (inode != 0) inodes.add(inode); // 0: TIME_WAIT and the like, held by no process
            } catch (NumberFormatException e) {
                // not a socket line
            }
        });
        return inodes;
    }

    private static boolean isPid(String name) {
        if (name.isEmpty()) return false;
        for (int i = 0; i < name.length(); i++) {
            if (!Character.isDigit(name.charAt(i))) return false;
        }
        return true;
    }

    private static Path readLinkOrNull(Path link) {
        try {
            return Files.readSymbolicLink(link);
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }
}
