package org.migrationmesh.agent.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The mounts of this process's mount namespace, as /proc/self/mountinfo lists them (later lines mounted over earlier ones). */
final class MountTable {
    /** One mount: where, its file system's type and that file system's options ("super options"). */
    record Mount(String point, String type, List<String> superOptions) {}

    private MountTable() {}

    static List<Mount> read() throws IOException {
        return parse(Files.readString(Path.of("/proc/self/mountinfo")));
    }

    /** The mounts {@code mountinfo} lists, in its order; lines it cannot read are left out. Pure. */
    static List<Mount> parse(String mountinfo) {
        List<Mount> mounts = new ArrayList<>();
        for (String line : mountinfo.split("\n")) {
            String[] f = line.split(" ");
            if (f.length < 5) continue;
            int dash = List.of(f).indexOf("-");
            boolean described = dash >= 0 && dash + 3 < f.length;
            mounts.add(new Mount(unescape(f[4]), described ? f[dash + 1] : "",
                    described ? List.of(f[dash + 3].split(",")) : List.of()));
        }
        return mounts;
    }

    /** The mount points, in order. */
    static List<String> points() throws IOException {
        return read().stream().map(Mount::point).toList();
    }

    private static String unescape(String s) {
        return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    }
}
