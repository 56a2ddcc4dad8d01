package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * runc's masked directories travel as external mounts ({@link CriuConfig}, {@link MaskSource}):
 * a real container is dumped without an archive of them, and restored with them empty and
 * read-only, twice over (the second dump is of mounts a restore made, which CRIU restores
 * differently).
 */
class MaskedDirectoriesIT {
    private RuntimeFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new RuntimeFixture("mmmk");
    }

    @AfterEach
    void tearDown() {
        if (fx != null) fx.close();
    }

    @Test
    void maskedDirectoriesAreNotArchivedAndComeBackEmptyAndReadOnly() throws Exception {
        String id = "mask-" + fx.net.prefix();
        String ip = fx.net.newFloatingAddress();
        fx.net.addAddress(fx.a, ip);
        List<String> args = List.of("/bin/memhog", "8", "0", ip, "7001");
        Path masks = MaskSource.ensure(MaskSource.DEFAULT, fx.runner);
        fx.runcA.run(id, bundle(fx.a, id, args, masks));
        List<String> masked = maskedMounts(fx.runcA.state(id).pid());
        assertThat(masked).as("runc masks some directories here with a tmpfs").isNotEmpty();

        Runc from = fx.runcA, to = fx.runcB;
        SimulatedNetworkHosts hosts = new SimulatedNetworkHosts(fx.a, fx.b);
        for (int generation = 1; generation <= 2; generation++) {
            int pid = from.state(id).pid();
            List<String> tmpfs = tmpfsMounts(pid);
            long archivable = tmpfs.stream().filter(m -> !masked.contains(m)).count();
            Path images = fx.dir.resolve("images-" + generation);
            from.checkpoint(id, CheckpointOptions.stopAndCopy(images, fx.dir.resolve("work-dump-" + generation)));
            try (Stream<Path> files = Files.list(images)) {
                assertThat(files.filter(f -> f.getFileName().toString().startsWith("tmpfs-dev-")).count())
                        .as("generation " + generation + ": one archive per tmpfs that is not a mask, of " + tmpfs).isEqualTo(archivable);
            }
            fx.net.removeAddress(hosts.from(generation), ip);
            fx.net.addAddress(hosts.to(generation), ip);
            RestoreResult restored = to.restore(id, bundle(hosts.to(generation), id, args, masks),
                    RestoreOptions.of(images, fx.dir.resolve("work-restore-" + generation)));
            assertThat(maskedMounts(restored.pid())).as("generation " + generation).containsExactlyInAnyOrderElementsOf(masked);
            // CRIU leaves cgroups to runc (manage-cgroups ignore): the restored tasks are in the destination's path
            assertThat(Files.readString(Path.of("/proc", Integer.toString(restored.pid()), "cgroup")))
                    .as("generation " + generation + ": restored into " + hosts.to(generation).name() + "'s cgroup path")
                    .contains(fx.cgroupParent + "/" + hosts.to(generation).name() + "/" + id);
            assertThat(Files.readString(fx.dir.resolve("work-restore-" + generation).resolve("restore.log")))
                    .as("CRIU prepared no cgroup yard (manage-cgroups=ignore took)").doesNotContain("Preparing cgroups yard");
            for (String dir : masked) {
                Path inside = Path.of("/proc/" + restored.pid() + "/root" + dir);
                try (Stream<Path> entries = Files.list(inside)) {
                    assertThat(entries).as(dir + " is empty").isEmpty();
                }
            }
            Runc was = from;
            from = to;
            to = was;
        }
    }

    /** Where the two hosts are in each generation: A to B, then B to A. */
    private record SimulatedNetworkHosts(org.migrationmesh.agent.sim.SimulatedNetwork.Host a,
                                         org.migrationmesh.agent.sim.SimulatedNetwork.Host b) {
        org.migrationmesh.agent.sim.SimulatedNetwork.Host from(int generation) {
            return generation % 2 == 1 ? a : b;
        }

        org.migrationmesh.agent.sim.SimulatedNetwork.Host to(int generation) {
            return generation % 2 == 1 ? b : a;
        }
    }

    /** Masked directories of the container: mounted read-only as a file system and tmpfs. */
    private static List<String> maskedMounts(int pid) throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/mountinfo"))) {
            String[] f = line.split(" ");
            if (!BundleWriter.MASKED_DIRECTORIES.contains(f[4])) continue;
            int dash = List.of(f).indexOf("-");
            boolean readOnly = List.of(f[5].split(",")).contains("ro") || List.of(f[dash + 3].split(",")).contains("ro");
            assertThat(readOnly).as(f[4] + " read-only: " + line).isTrue();
            assertThat(f[dash + 1]).as(f[4] + ": " + line).isEqualTo("tmpfs");
            out.add(f[4]);
        }
        return out;
    }

    /** The container's tmpfs file systems (CRIU archives each, unless external). */
    private static List<String> tmpfsMounts(int pid) throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/mountinfo"))) {
            String[] f = line.split(" ");
            int dash = List.of(f).indexOf("-");
            if (f[dash + 1].equals("tmpfs") && f[3].equals("/")) out.add(f[4]); // not the masked files, bound from /dev/null
        }
        return out;
    }

    private Path bundle(org.migrationmesh.agent.sim.SimulatedNetwork.Host host, String id, List<String> args, Path masks)
            throws Exception {
        Path conf = fx.dir.resolve("criu").resolve(host.name() + "-" + id + ".conf");
        Files.createDirectories(conf.getParent());
        new CriuConfig(null, false, masks).write(conf);
        BundleSpec spec = BundleSpec.of(args, host.netnsPath(), fx.cgroupParent + "/" + host.name() + "/" + id)
                .withCriuConfig(conf);
        return Workloads.bundle(fx.dir.resolve("bundles").resolve(host.name()).resolve(id), "memhog", spec);
    }
}
