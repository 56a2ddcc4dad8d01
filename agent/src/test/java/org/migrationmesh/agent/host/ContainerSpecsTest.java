package org.migrationmesh.agent.host;

import org.junit.jupiter.api.Test;
import org.migrationmesh.proto.cluster.ContainerSpec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ContainerSpecsTest {
    private static final String ROOTFS = "/var/lib/migration-mesh/images/openarena/rootfs";

    @Test
    void aWorkloadOrARootfsWithACommandIsRunnable() {
        ContainerSpec workload = ContainerSpec.newBuilder().setWorkload("tickserver").addArgs("/bin/tickserver").build();
        ContainerSpec rootfs = ContainerSpec.newBuilder().setRootfs(ROOTFS).addArgs("/usr/lib/ioquake3/ioq3ded").build();
        ContainerSpecs.validate(workload);
        ContainerSpecs.validate(rootfs);
        assertThat(ContainerSpecs.runnable(workload)).isTrue();
        assertThat(ContainerSpecs.runnable(rootfs)).isTrue();
        assertThat(ContainerSpecs.runnable(ContainerSpec.getDefaultInstance())).isFalse();
    }

    @Test
    void bothNeitherUnknownRelativeOrCommandlessAreRefusedByName() {
        assertThatThrownBy(() -> ContainerSpecs.validate(ContainerSpec.newBuilder().setWorkload("tickserver")
                .setRootfs(ROOTFS).addArgs("/x").build())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not both");
        assertThatThrownBy(() -> ContainerSpecs.validate(ContainerSpec.newBuilder().addArgs("/x").build()))
                .hasMessageContaining("needs a workload or a rootfs");
        assertThatThrownBy(() -> ContainerSpecs.validate(ContainerSpec.newBuilder().setWorkload("nginx").build()))
                .hasMessageContaining("unknown workload 'nginx'");
        assertThatThrownBy(() -> ContainerSpecs.validate(ContainerSpec.newBuilder().setRootfs("images/oa").addArgs("/x").build()))
                .hasMessageContaining("absolute path: images/oa");
        assertThatThrownBy(() -> ContainerSpecs.validate(ContainerSpec.newBuilder().setRootfs(ROOTFS).build()))
                .hasMessageContaining("needs a command");
    }
}
