package org.migrationmesh.agent.runtime;

import org.migrationmesh.proto.runtime.RuntimeCapabilities;

/**
 * One host's container runtime: its runc client, CRIU, and what the host can do, detected
 * once at start. The agent holds one; its capabilities go into the cluster so that a
 * migration can check its destination.
 */
public final class ContainerRuntime {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ContainerRuntime.class);
    private final Runc runc;
    private final Criu criu;
    private final NetworkLock networkLock;
    private final RuntimeCapabilities capabilities;
    private final CommandRunner runner;
    /** Set once mounting the mask source failed: dumps archive the masked directories from then on. */
    private boolean maskSourceFailed;

    private ContainerRuntime(Runc runc, Criu criu, NetworkLock networkLock, RuntimeCapabilities capabilities,
                             CommandRunner runner) {
        this.runc = runc;
        this.criu = criu;
        this.networkLock = networkLock;
        this.capabilities = capabilities;
        this.runner = runner;
    }

    /**
     * The empty read-only file system restores put on runc's masked directories
     * ({@link MaskSource}), checked (and mounted if it is not, e.g. after someone unmounted it)
     * each time, so that no restore binds the plain directory under it; null if it cannot be
     * mounted (then dumps archive the masked directories, as CRIU does by default, and restores
     * of images that name them external fail with CRIU's error on this host).
     */
    public synchronized java.nio.file.Path maskSource() {
        if (maskSourceFailed) return null;
        try {
            return MaskSource.ensure(MaskSource.DEFAULT, runner);
        } catch (java.io.IOException | RuntimeException e) {
            maskSourceFailed = true;
            log.warn("masked directories will be archived in every dump: {}", e.getMessage());
            return null;
        }
    }

    /** The tmpfs mounts of this host's containers under {@code root} ({@link TmpfsMounts}), mounted through this runtime's runner. */
    public TmpfsMounts tmpfsMounts(java.nio.file.Path root, java.nio.file.Path mmtar) {
        return new TmpfsMounts(root, runner, mmtar);
    }

    /** Makes namespace {@code netns} ready for packet holds ({@link PacketHold#prepareChain}), through this runtime's runner. */
    public void preparePacketHolds(String netns) {
        PacketHold.prepareChain(runner, netns);
    }

    /** Holds the packets to {@code address} in {@code netns} ({@link PacketHold#start}), through this runtime's runner. */
    public PacketHold holdPackets(java.nio.file.Path mmhold, String netns, String address, String containerId,
                                  String migrationId, java.nio.file.Path workDir) {
        return PacketHold.start(runner, mmhold, netns, address, containerId, migrationId, workDir);
    }

    /**
     * Has pages image {@code pagesId} of a final dump into {@code imageDir} taken through a FIFO
     * into {@code bytes} allocated now ({@link PagesFifo#start}), through this runtime's runner.
     */
    public PagesFifo pagesFifo(java.nio.file.Path mmpages, String containerId, java.nio.file.Path imageDir,
                               java.nio.file.Path workDir, int pagesId, long bytes) {
        return PagesFifo.start(runner, mmpages, containerId, imageDir, workDir, pagesId, bytes);
    }

    /** Detects the host's capabilities; fails if runc or CRIU are missing or CRIU is too old. */
    public static ContainerRuntime open(RuncConfig config, CommandRunner runner) {
        Criu criu = new Criu(config.criu(), runner);
        RuntimeCapabilities caps = criu.detect(config.runc());
        return new ContainerRuntime(new Runc(config, runner), criu, new NetworkLock(runner), caps, runner);
    }

    public RuntimeCapabilities capabilities() {
        return capabilities;
    }

    public Runc runc() {
        return runc;
    }

    public Criu criu() {
        return criu;
    }

    public NetworkLock networkLock() {
        return networkLock;
    }

    /**
     * A pre-dump round: memory only, the container keeps running. Needs the kernel's dirty
     * tracking; without it this refuses at once instead of letting CRIU fail mid-way.
     */
    public CheckpointResult preDump(String id, CheckpointOptions options) {
        if (!capabilities.getDirtyTracking()) {
            throw new RuntimeFailure(id, Phase.PRE_DUMP, "this kernel has no memory dirty tracking"
                    + " (criu check --feature mem_dirty_track fails: CONFIG_MEM_SOFT_DIRTY is off);"
                    + " use pre-copy by content deltas instead");
        }
        return runc.checkpoint(id, options.preDump() ? options : options.asPreDump(options.parentPath()));
    }
}
