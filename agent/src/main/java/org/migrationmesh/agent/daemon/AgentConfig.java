package org.migrationmesh.agent.daemon;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.migrationmesh.cluster.NodeSettings;
import org.migrationmesh.cluster.Peer;
import org.migrationmesh.cluster.RaftTiming;
import org.migrationmesh.rpc.RpcEndpoints.HostPort;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One agent's configuration file (JSON). Example:
 * <pre>{@code
 * {
 *   "id": "a1",
 *   "cluster": "mesh",
 *   "raftAddress": "10.0.0.1:7000",
 *   "controlAddress": "10.0.0.1:7100",
 *   "region": "eu-west",
 *   "dataDir": "/var/lib/migration-mesh",
 *   "runDir": "/run/migration-mesh",
 *   "peers": [ {"id": "a1", "raftAddress": "10.0.0.1:7000", "controlAddress": "10.0.0.1:7100"}, ... ],
 *   "raft": { "rttMillis": 80 },
 *   "heartbeatIntervalMillis": 2000
 * }
 * }</pre>
 * {@code peers} is the group to bootstrap with (this agent included); once an agent has data in
 * {@code dataDir} it recovers its own Raft configuration from there. Raft timing comes from
 * {@code raft.rttMillis} (worst round trip between peers) or explicit timeouts.
 *
 * <p>{@code runDir} (default {@code dataDir/run}) holds what lives only as long as this host
 * runs: runc's container state and the checkpoint images this agent dumps, receives and keeps as
 * parents for a container's return. A tmpfs (as runc's own default, /run/runc) is what it is
 * for: CRIU writes every page of a final dump there while the container is frozen, and runc
 * rewrites its state during a restore. Measured on the tour with the game server's 20 MiB, in
 * a tmpfs against on ext4: CRIU's frozen time ~36 against ~45 ms. The images then take memory for
 * as long as they are kept, up to twice a container's memory while it migrates. Raft's log stays
 * in {@code dataDir}, which must survive a restart.
 */
@JsonIgnoreProperties(ignoreUnknown = false)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AgentConfig(String id, String cluster, String raftAddress, String controlAddress, String region,
                          Path dataDir, Path runDir, List<PeerConfig> peers, RaftConfig raft, Long heartbeatIntervalMillis,
                          CapacityConfig capacity, RuntimeConfig runtime) {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(SerializationFeature.INDENT_OUTPUT);

    /** A peer as listed in the configuration file. */
    public record PeerConfig(String id, String raftAddress, String controlAddress) {}

    /** Raft timing: either {@code rttMillis} or explicit timeouts (explicit values win). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record RaftConfig(Long rttMillis, Long electionTimeoutMinMillis, Long electionTimeoutMaxMillis,
                             Long requestTimeoutMillis, Long snapshotThreshold) {}

    public record CapacityConfig(Integer cpus, Long memoryBytes, Integer maxContainers) {}

    /**
     * Where this host runs containers; without this section the agent holds none (a Raft peer only).
     *
     * @param netns          network namespace (name under /var/run/netns) containers join and floating IPs go into
     * @param iface          interface of that namespace for floating IPs (default eth0)
     * @param floatingPrefix prefix length of floating IPs (default 24)
     * @param lazyRestore    whether a pre-copy migration here restores its container's tasks before their memory,
     *                       which CRIU's lazy-pages daemon then fills from the image (default true; only where CRIU
     *                       has userfaultfd): CRIU's copy of every page leaves the downtime
     * @param holdPackets    whether a restore here holds the packets to its container's floating IP until a socket of
     *                       the restored container takes them (default true; needs iptables and NFQUEUE): a request a
     *                       client sends in the switchover is answered as the container resumes, not lost
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record RuntimeConfig(String netns, String iface, Integer floatingPrefix, Boolean lazyRestore,
                                Boolean holdPackets) {
        public RuntimeConfig {
            require(netns, "runtime.netns");
            iface = iface == null ? "eth0" : iface;
            floatingPrefix = floatingPrefix == null ? 24 : floatingPrefix;
            lazyRestore = lazyRestore == null ? Boolean.TRUE : lazyRestore;
            holdPackets = holdPackets == null ? Boolean.TRUE : holdPackets;
        }
    }

    public AgentConfig {
        require(id, "id");
        require(raftAddress, "raftAddress");
        require(controlAddress, "controlAddress");
        Objects.requireNonNull(dataDir, "config field 'dataDir' is missing");
        runDir = runDir == null ? dataDir.resolve("run") : runDir;
        HostPort.parse(raftAddress);
        HostPort.parse(controlAddress);
        cluster = cluster == null ? "mesh" : cluster;
        region = region == null ? "default" : region;
        peers = peers == null ? List.of(new PeerConfig(id, raftAddress, controlAddress)) : List.copyOf(peers);
        String self = id;
        if (peers.stream().noneMatch(p -> self.equals(p.id()))) {
            throw new IllegalArgumentException("agent '" + id + "' is not in its own peers list; add it");
        }
        for (PeerConfig p : peers) {
            require(p.id(), "peers[].id");
            HostPort.parse(p.raftAddress());
        }
        heartbeatIntervalMillis = heartbeatIntervalMillis == null ? 2000L : heartbeatIntervalMillis;
        if (heartbeatIntervalMillis < 100) {
            throw new IllegalArgumentException("heartbeatIntervalMillis must be >= 100: " + heartbeatIntervalMillis);
        }
    }

    private static void require(String value, String field) {
        if (value == null || value.isBlank()) throw new IllegalArgumentException("config field '" + field + "' is missing");
    }

    public static AgentConfig load(Path file) {
        try {
            return JSON.readValue(Files.readAllBytes(file), AgentConfig.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read agent config " + file + ": " + reason(e), e);
        }
    }

    private static String reason(IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) return "no such file";
        if (e instanceof com.fasterxml.jackson.databind.exc.ValueInstantiationException v && v.getCause() != null) {
            return v.getCause().getMessage();
        }
        if (e instanceof com.fasterxml.jackson.core.JsonProcessingException j) {
            return j.getOriginalMessage() + (j.getLocation() == null ? ""
                    : " (line " + j.getLocation().getLineNr() + ", column " + j.getLocation().getColumnNr() + ")");
        }
        return e.toString();
    }

    public void write(Path file) throws IOException {
        Files.write(file, JSON.writeValueAsBytes(this));
    }

    /** The Raft timing this configuration asks for. */
    public RaftTiming timing() {
        RaftConfig r = raft == null ? new RaftConfig(null, null, null, null, null) : raft;
        RaftTiming base = r.rttMillis() == null ? RaftTiming.LAN : RaftTiming.forRtt(Duration.ofMillis(r.rttMillis()));
        return new RaftTiming(
                r.electionTimeoutMinMillis() == null ? base.electionTimeoutMin() : Duration.ofMillis(r.electionTimeoutMinMillis()),
                r.electionTimeoutMaxMillis() == null ? base.electionTimeoutMax() : Duration.ofMillis(r.electionTimeoutMaxMillis()),
                r.requestTimeoutMillis() == null ? base.requestTimeout() : Duration.ofMillis(r.requestTimeoutMillis()));
    }

    public NodeSettings nodeSettings() {
        List<Peer> raftPeers = new ArrayList<>();
        for (PeerConfig p : peers) raftPeers.add(new Peer(p.id(), p.raftAddress()));
        long threshold = raft == null || raft.snapshotThreshold() == null ? 1000 : raft.snapshotThreshold();
        return new NodeSettings(id, raftAddress, cluster, raftPeers, dataDir.resolve("raft"), timing(), threshold);
    }
}
