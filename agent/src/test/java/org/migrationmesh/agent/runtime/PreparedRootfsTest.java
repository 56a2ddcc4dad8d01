package org.migrationmesh.agent.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PreparedRootfsTest {
    @TempDir
    Path tmp;

    @Test
    void configPointsAtTheSharedRootfsReadOnlyWithTmpfsTmp() {
        BundleSpec spec = BundleSpec.of(List.of("/usr/lib/ioquake3/ioq3ded"), Path.of("/var/run/netns/h1"), "/mm/h1/oa")
                .withRootfs(Path.of("/var/lib/migration-mesh/images/openarena/rootfs"));
        JsonNode c = BundleWriter.config(spec.on(Path.of("/var/run/netns/h2"), "/mm/h2/oa"));
        assertThat(c.at("/root/path").asText()).as("kept on the other host").isEqualTo("/var/lib/migration-mesh/images/openarena/rootfs");
        assertThat(c.at("/root/readonly").asBoolean()).isTrue();
        assertThat(c.at("/linux/cgroupsPath").asText()).isEqualTo("/mm/h2/oa");
        JsonNode tmpMount = null;
        for (JsonNode m : c.at("/mounts")) if (m.path("destination").asText().equals("/tmp")) tmpMount = m;
        assertThat(tmpMount).isNotNull();
        assertThat(tmpMount.path("type").asText()).isEqualTo("tmpfs");
    }

    @Test
    void aWorkloadBundleKeepsItsOwnRootfs() {
        JsonNode c = BundleWriter.config(BundleSpec.of(List.of("/bin/x"), null, "/mm/c"));
        assertThat(c.at("/root/path").asText()).isEqualTo("rootfs");
    }

    @Test
    void aSharedRootfsMustBeAbsoluteAndReadOnly() {
        BundleSpec spec = BundleSpec.of(List.of("/bin/x"), null, "/mm/c");
        assertThatThrownBy(() -> spec.withRootfs(Path.of("images/oa"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("images/oa");
        assertThatThrownBy(() -> new BundleSpec(List.of("/bin/x"), List.of(), "mm", null, "/mm/c", false, Path.of("/r"), null, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("read-only");
    }

    @Test
    void aMissingRootfsIsNamedAndNoBundleIsWritten() throws Exception {
        Path missing = tmp.resolve("nosuch");
        Path bundle = tmp.resolve("bundle");
        BundleSpec spec = BundleSpec.of(List.of("/bin/x"), null, "/mm/c");
        assertThatThrownBy(() -> PreparedRootfs.bundle("oa1", bundle, missing, spec))
                .isInstanceOf(RuntimeFailure.class)
                .hasMessageContaining("oa1").hasMessageContaining(missing + " does not exist on this host");
        assertThat(bundle.resolve("config.json")).doesNotExist();

        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertThat(PreparedRootfs.problem(empty)).hasValueSatisfying(p -> assertThat(p).contains("not a root filesystem"));
        assertThat(PreparedRootfs.problem(Path.of("rel"))).hasValueSatisfying(p -> assertThat(p).contains("absolute"));
    }

    @Test
    void aPresentRootfsGetsABundleWithOnlyConfigJson() throws Exception {
        Path rootfs = Files.createDirectories(tmp.resolve("img/rootfs/usr"));
        Path bundle = PreparedRootfs.bundle("oa1", tmp.resolve("bundle"), rootfs.getParent(),
                BundleSpec.of(List.of("/bin/x"), null, "/mm/c"));
        assertThat(bundle.resolve("config.json")).isRegularFile();
        assertThat(bundle.resolve("rootfs")).doesNotExist();
        Bundles.check("oa1", bundle);
    }
}
