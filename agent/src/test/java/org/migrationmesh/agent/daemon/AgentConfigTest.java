package org.migrationmesh.agent.daemon;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.migrationmesh.cluster.NodeSettings;
import org.migrationmesh.cluster.Peer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AgentConfigTest {
    @TempDir
    Path dir;

    private Path write(String json) throws Exception {
        Path f = dir.resolve("agent.json");
        Files.writeString(f, json);
        return f;
    }

    private static final String PEERS = """
            "peers": [
              {"id": "a1", "raftAddress": "10.0.0.1:7000", "controlAddress": "10.0.0.1:7100"},
              {"id": "a2", "raftAddress": "10.0.0.2:7000", "controlAddress": "10.0.0.2:7100"}
            ]""";

    @Test
    void minimalFileGetsDefaultsAndLanTiming() throws Exception {
        AgentConfig c = AgentConfig.load(write("""
                {"id": "a1", "raftAddress": "10.0.0.1:7000", "controlAddress": "10.0.0.1:7100",
                 "dataDir": "/var/lib/mm", %s}
                """.formatted(PEERS)));
        assertThat(c.cluster()).isEqualTo("mesh");
        assertThat(c.region()).isEqualTo("default");
        assertThat(c.heartbeatIntervalMillis()).isEqualTo(2000);
        assertThat(c.timing().electionTimeoutMin()).isEqualTo(Duration.ofSeconds(1));
        NodeSettings s = c.nodeSettings();
        assertThat(s.peers()).containsExactly(new Peer("a1", "10.0.0.1:7000"), new Peer("a2", "10.0.0.2:7000"));
        assertThat(s.dataDir()).isEqualTo(Path.of("/var/lib/mm/raft"));
        assertThat(s.groupUuid()).as("same cluster name, same group on every agent")
                .isEqualTo(new NodeSettings("a2", "10.0.0.2:7000", "mesh", s.peers(), Path.of("/x"), s.timing(), 5).groupUuid());
    }

    @Test
    void wanTimingComesFromTheRoundTripAndExplicitValuesWin() throws Exception {
        AgentConfig c = AgentConfig.load(write("""
                {"id": "a1", "raftAddress": "10.0.0.1:7000", "controlAddress": "10.0.0.1:7100",
                 "dataDir": "/d", "raft": {"rttMillis": 250, "requestTimeoutMillis": 20000}, %s}
                """.formatted(PEERS)));
        assertThat(c.timing().electionTimeoutMin()).isEqualTo(Duration.ofMillis(2500));
        assertThat(c.timing().electionTimeoutMax()).isEqualTo(Duration.ofMillis(5000));
        assertThat(c.timing().requestTimeout()).isEqualTo(Duration.ofSeconds(20));
    }

    @Test
    void runDirDefaultsToTheDataDirAndMayBeATmpfsOfItsOwn() throws Exception {
        AgentConfig plain = AgentConfig.load(write("""
                {"id": "a1", "raftAddress": "10.0.0.1:7000", "controlAddress": "10.0.0.1:7100", "dataDir": "/d", %s}
                """.formatted(PEERS)));
        assertThat(plain.runDir()).isEqualTo(Path.of("/d/run"));
        AgentConfig tmpfs = AgentConfig.load(write("""
                {"id": "a1", "raftAddress": "10.0.0.1:7000", "controlAddress": "10.0.0.1:7100", "dataDir": "/d",
                 "runDir": "/run/mm-a1", %s}
                """.formatted(PEERS)));
        assertThat(tmpfs.runDir()).isEqualTo(Path.of("/run/mm-a1"));
        assertThat(tmpfs.nodeSettings().dataDir()).as("Raft's log stays where it survives a restart")
                .isEqualTo(Path.of("/d/raft"));
    }

    @Test
    void roundTripsThroughItsOwnWriter() throws Exception {
        AgentConfig c = AgentConfig.load(write("""
                {"id": "a1", "raftAddress": "10.0.0.1:7000", "controlAddress": "10.0.0.1:7100",
                 "dataDir": "/d", "region": "eu", %s}
                """.formatted(PEERS)));
        Path copy = dir.resolve("copy.json");
        c.write(copy);
        assertThat(AgentConfig.load(copy)).isEqualTo(c);
    }

    @Test
    void mistakesAreNamed() throws Exception {
        assertThatThrownBy(() -> AgentConfig.load(write("""
                {"id": "a9", "raftAddress": "10.0.0.1:7000", "controlAddress": "10.0.0.1:7100", "dataDir": "/d", %s}
                """.formatted(PEERS)))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("agent 'a9' is not in its own peers list");
        assertThatThrownBy(() -> AgentConfig.load(write("""
                {"id": "a1", "raftAdress": "10.0.0.1:7000", "controlAddress": "10.0.0.1:7100", "dataDir": "/d"}
                """))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'raftAddress' is missing");
        assertThatThrownBy(() -> AgentConfig.load(write("""
                {"id": "a1", "raftAddress": "10.0.0.1:7000", "controlAddress": "10.0.0.1:7100", "dataDir": "/d",
                 "regoin": "eu"}
                """))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("regoin");
        assertThatThrownBy(() -> AgentConfig.load(write("""
                {"id": "a1", "raftAddress": "10.0.0.1", "controlAddress": "10.0.0.1:7100", "dataDir": "/d"}
                """))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not HOST:PORT");
        assertThatThrownBy(() -> AgentConfig.load(dir.resolve("missing.json")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("missing.json");
    }
}
