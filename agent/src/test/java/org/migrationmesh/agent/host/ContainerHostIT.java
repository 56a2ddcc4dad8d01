package org.migrationmesh.agent.host;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.migrationmesh.agent.runtime.CommandRunner;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * `agentctl run` with a workload makes the owner agent really run it, its floating IP on the
 * owner's interface, reachable from a client; `agentctl stop` really stops it. Two agents in
 * two network namespaces, agentctl from a third.
 */
class ContainerHostIT {
    private HostAgents agents;

    @BeforeEach
    void setUp() throws Exception {
        agents = new HostAgents("ch", 2);
    }

    @AfterEach
    void tearDown() {
        if (agents != null) agents.close();
    }

    @Test
    void runPlacesTheContainerOnItsOwnerWithItsFloatingIpAndStopRemovesIt() throws Exception {
        agents.await(Duration.ofSeconds(90), "two members with a runtime", () -> {
            try {
                HostAgents.Result r = agents.agentctl("a2", "members");
                return r.exit() == 0 && r.out().split("criu 4", -1).length == 3 ? r : null;
            } catch (Exception e) {
                return null;
            }
        });
        String ip = agents.net.newFloatingAddress();
        HostAgents.Result run = agents.agentctl("a2", "run", "tick1", "--owner", "a1", "--ip", ip, "--workload",
                "tickserver", "--", "/bin/tickserver", ip, "7000", "7001");
        assertThat(run.exit()).as(run.err()).isZero();

        agents.await(Duration.ofSeconds(30), "tick1 running on a1", () -> agents.running("a1", "tick1") ? true : null);
        assertThat(agents.running("a2", "tick1")).as("only the owner runs it").isFalse();
        CommandRunner.Execution addr = agents.inHost("a1", "ip", "-o", "addr", "show", "dev", "eth0");
        assertThat(addr.stdout()).as("the floating IP is on the owner's interface").contains(ip + "/24");

        // A client in its own namespace reaches the container through its floating IP.
        String reply = agents.await(Duration.ofSeconds(20), "a UDP answer from tick1", () -> {
            try {
                CommandRunner.Execution ex = agents.net.exec(agents.client, Duration.ofSeconds(10),
                        probe(), "udp", ip, "7001", "100", "1");
                return ex.stdout().contains(" tick ") ? ex.stdout() : null;
            } catch (Exception e) {
                return null;
            }
        });
        assertThat(reply).contains("start");

        HostAgents.Result stop = agents.agentctl("a1", "stop", "tick1");
        assertThat(stop.exit()).as(stop.err()).isZero();
        agents.await(Duration.ofSeconds(30), "tick1 gone from a1", () -> agents.runc("a1").find("tick1").isEmpty() ? true : null);
    }

    private String probe() throws java.io.IOException {
        java.nio.file.Path p = agents.base.resolve("mmprobe");
        if (!java.nio.file.Files.exists(p)) org.migrationmesh.agent.runtime.Workloads.extract("mmprobe", p);
        return p.toString();
    }
}
