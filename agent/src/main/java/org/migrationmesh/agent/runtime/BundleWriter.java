package org.migrationmesh.agent.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes an OCI runtime config.json for a {@link BundleSpec}: the container runs as uid 0
 * (a non-root uid fails the dump without CAP_SYS_RESOURCE), joins the given network
 * namespace, and gets a private tmpfs /tmp and /dev/shm, its own or bound from the host's
 * ({@link BundleSpec#tmpfsDir}, {@link TmpfsMounts}). No cgroup filesystem is mounted inside.
 */
public final class BundleWriter {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** The annotation by which runc hands CRIU a container's own configuration file. */
    public static final String CRIU_CONFIG_ANNOTATION = "org.criu.config";
    private static final List<String> CAPS = List.of("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW");
    /** The masked paths that are directories (runc mounts an empty read-only tmpfs on each that exists). */
    public static final List<String> MASKED_DIRECTORIES = List.of("/proc/acpi", "/proc/scsi", "/sys/firmware");
    /** The masked paths that are files (runc binds /dev/null on each that exists). */
    private static final List<String> MASKED_FILES = List.of("/proc/kcore", "/proc/keys", "/proc/latency_stats",
            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug");

    private BundleWriter() {}

    /** Writes {@code bundle/config.json}; the rootfs is {@code spec.rootfs()}, or {@code bundle/rootfs} if that is null. */
    public static void write(Path bundle, BundleSpec spec) throws IOException {
        Files.createDirectories(bundle);
        Path tmp = bundle.resolve("config.json.tmp");
        JSON.writeValue(tmp.toFile(), config(spec));
        Files.move(tmp, bundle.resolve("config.json"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /** The config.json tree; pure. */
    static ObjectNode config(BundleSpec spec) {
        ObjectNode c = JSON.createObjectNode();
        c.put("ociVersion", "1.0.2-dev");
        ObjectNode process = c.putObject("process");
        process.put("terminal", false);
        process.putObject("user").put("uid", 0).put("gid", 0);
        strings(process.putArray("args"), spec.args());
        strings(process.putArray("env"), spec.env());
        process.put("cwd", "/");
        ObjectNode caps = process.putObject("capabilities");
        for (String set : List.of("bounding", "effective", "permitted")) strings(caps.putArray(set), CAPS);
        process.put("noNewPrivileges", true);
        c.putObject("root").put("path", spec.rootfs() == null ? "rootfs" : spec.rootfs().toString()).put("readonly", spec.readonlyRootfs());
        c.put("hostname", spec.hostname());
        if (spec.criuConfig() != null) c.putObject("annotations").put(CRIU_CONFIG_ANNOTATION, spec.criuConfig().toString());

        ArrayNode mounts = c.putArray("mounts");
        mount(mounts, "/proc", "proc", "proc", List.of());
        mount(mounts, "/dev", "tmpfs", "tmpfs", List.of("nosuid", "strictatime", "mode=755", "size=65536k"));
        mount(mounts, "/dev/pts", "devpts", "devpts", List.of("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"));
        tmpfs(mounts, DEV_SHM, "shm", spec.tmpfsDir());
        mount(mounts, "/sys", "sysfs", "sysfs", List.of("nosuid", "noexec", "nodev", "ro"));
        tmpfs(mounts, TMP, "tmpfs", spec.tmpfsDir());

        ObjectNode linux = c.putObject("linux");
        linux.put("cgroupsPath", spec.cgroupsPath());
        linux.putObject("resources").putArray("devices").addObject().put("allow", false).put("access", "rwm");
        ArrayNode ns = linux.putArray("namespaces");
        for (String type : List.of("pid", "ipc", "uts", "mount")) ns.addObject().put("type", type);
        ObjectNode net = ns.addObject().put("type", "network");
        if (spec.netnsPath() != null) net.put("path", spec.netnsPath().toString());
        ArrayNode masked = linux.putArray("maskedPaths");
        strings(masked, MASKED_DIRECTORIES);
        strings(masked, MASKED_FILES);
        strings(linux.putArray("readonlyPaths"), List.of("/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq",
                "/proc/sys", "/proc/sysrq-trigger"));
        return c;
    }

    /**
     * A tmpfs mount of every container: where, its name among the host's ({@link TmpfsMounts}),
     * its mount flags and its tmpfs options.
     */
    public record TmpfsMount(String destination, String name, List<String> flags, List<String> tmpfsOptions) {
        /** The options of the tmpfs itself, flags first, as {@code mount -o} and config.json take them. */
        public List<String> options() {
            List<String> all = new java.util.ArrayList<>(flags);
            all.addAll(tmpfsOptions);
            return all;
        }
    }

    private static final TmpfsMount DEV_SHM = new TmpfsMount("/dev/shm", "dev-shm", List.of("nosuid", "noexec", "nodev"),
            List.of("mode=1777", "size=65536k"));
    private static final TmpfsMount TMP = new TmpfsMount("/tmp", "tmp", List.of("nosuid", "nodev"),
            List.of("mode=1777", "size=262144k"));
    /**
     * The tmpfs mounts of every container besides /dev (which holds runc's device nodes and other
     * mounts): /dev/shm and the writable /tmp of a read-only rootfs.
     */
    public static final List<TmpfsMount> TMPFS_MOUNTS = List.of(DEV_SHM, TMP);

    /** {@code t} as a tmpfs of the container's own, or bound from the host's {@code tmpfsDir} if given. */
    private static void tmpfs(ArrayNode mounts, TmpfsMount t, String source, Path tmpfsDir) {
        if (tmpfsDir == null) {
            mount(mounts, t.destination(), "tmpfs", source, t.options());
            return;
        }
        List<String> bind = new java.util.ArrayList<>(List.of("bind", "rw"));
        bind.addAll(t.flags());
        mount(mounts, t.destination(), "bind", tmpfsDir.resolve(t.name()).toString(), bind);
    }

    private static void mount(ArrayNode mounts, String dest, String type, String source, List<String> options) {
        ObjectNode m = mounts.addObject().put("destination", dest).put("type", type).put("source", source);
        if (!options.isEmpty()) strings(m.putArray("options"), options);
    }

    private static void strings(ArrayNode arr, List<String> values) {
        values.forEach(arr::add);
    }
}
