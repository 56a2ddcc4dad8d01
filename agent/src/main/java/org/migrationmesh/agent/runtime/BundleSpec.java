package org.migrationmesh.agent.runtime;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What a bundle's config.json says that differs between containers and hosts: the command,
 * the network namespace it joins, its cgroup path. A destination host writes its own bundle
 * for a restored container with its own {@code netnsPath} and {@code cgroupsPath}.
 *
 * @param args          the container's command
 * @param env           environment, KEY=VALUE
 * @param hostname      the UTS hostname
 * @param netnsPath     an existing network namespace to join (e.g. /var/run/netns/NAME), or null for a new one
 * @param cgroupsPath   runc's linux.cgroupsPath, e.g. /migration-mesh/HOST/ID
 * @param readonlyRootfs whether the rootfs is mounted read-only (writable state goes to the /tmp tmpfs)
 * @param rootfs        a prepared rootfs directory shared by containers (absolute), or null for the bundle's own
 * @param criuConfig    a CRIU configuration file for this container's dumps and restores (runc's
 *                      {@code org.criu.config} annotation), or null
 * @param tmpfsDir      where the host keeps this container's tmpfs mounts ({@link TmpfsMounts}), bound
 *                      into it; null for tmpfs mounts of its own
 */
public record BundleSpec(List<String> args, List<String> env, String hostname, Path netnsPath, String cgroupsPath,
                         boolean readonlyRootfs, Path rootfs, Path criuConfig, Path tmpfsDir) {
    public BundleSpec {
        args = List.copyOf(args);
        env = List.copyOf(env);
        if (args.isEmpty()) throw new IllegalArgumentException("a container needs a command");
        Objects.requireNonNull(hostname, "hostname");
        Objects.requireNonNull(cgroupsPath, "cgroupsPath");
        if (!cgroupsPath.startsWith("/")) throw new IllegalArgumentException("cgroupsPath must be absolute: " + cgroupsPath);
        if (rootfs != null && !rootfs.isAbsolute()) throw new IllegalArgumentException("rootfs must be absolute: " + rootfs);
        if (tmpfsDir != null && !tmpfsDir.isAbsolute()) throw new IllegalArgumentException("tmpfsDir must be absolute: " + tmpfsDir);
        if (rootfs != null && !readonlyRootfs) {
            throw new IllegalArgumentException("a shared rootfs must be mounted read-only: " + rootfs);
        }
    }

    public static BundleSpec of(List<String> args, Path netnsPath, String cgroupsPath) {
        return new BundleSpec(args, List.of("PATH=/bin:/usr/bin:/sbin:/usr/sbin"), "mm", netnsPath, cgroupsPath, true, null, null, null);
    }

    /** The same container with its root at a prepared, read-only {@code dir} instead of the bundle's own. */
    public BundleSpec withRootfs(Path dir) {
        return new BundleSpec(args, env, hostname, netnsPath, cgroupsPath, true, dir, criuConfig, tmpfsDir);
    }

    /**
     * The same, with CRIU reading {@code config} (runc's {@code org.criu.config} annotation) when
     * it dumps or restores the container; null for none.
     */
    public BundleSpec withCriuConfig(Path config) {
        return new BundleSpec(args, env, hostname, netnsPath, cgroupsPath, readonlyRootfs, rootfs, config, tmpfsDir);
    }

    /**
     * The same, with its tmpfs mounts ({@link BundleWriter#TMPFS_MOUNTS}) bound from the host's
     * {@code dir} ({@link TmpfsMounts}); null for tmpfs mounts of its own.
     */
    public BundleSpec withTmpfsDir(Path dir) {
        return new BundleSpec(args, env, hostname, netnsPath, cgroupsPath, readonlyRootfs, rootfs, criuConfig, dir);
    }

    /** The same container on another host: another network namespace and cgroup path. */
    public BundleSpec on(Path otherNetns, String otherCgroupsPath) {
        return new BundleSpec(args, env, hostname, otherNetns, otherCgroupsPath, readonlyRootfs, rootfs, criuConfig, tmpfsDir);
    }
}
