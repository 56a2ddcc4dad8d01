package org.migrationmesh.agent.migration;

import org.migrationmesh.proto.cluster.Container;
import org.migrationmesh.proto.cluster.ContainerState;
import org.migrationmesh.proto.cluster.Member;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PREPARE's checks of a migration, on the cluster's view of the container and both agents: the
 * container exists, runs and is not already moving; the destination is another agent, alive,
 * reachable, with runc and a CRIU that can restore the source's images (same major version,
 * not older), and lazy pages for post-copy. Pure: the migration runner and
 * {@code agentctl migrate --dry-run} ask the same questions.
 */
public final class MigrationChecks {
    /** A member not heard from for longer is taken for dead. */
    public static final Duration LIVENESS = Duration.ofSeconds(10);
    private static final Pattern VERSION = Pattern.compile("(\\d+)\\.(\\d+)(?:\\.(\\d+))?");

    private MigrationChecks() {}

    /** One check and what it found. */
    public record Check(String name, boolean ok, String detail) {
    }

    /** Every check, in order; the migration may go when all pass. */
    public record Verdict(List<Check> checks) {
        public boolean go() {
            return checks.stream().allMatch(Check::ok);
        }

        /** The failed checks as one sentence, empty when it may go. */
        public String refusals() {
            return String.join("; ", checks.stream().filter(c -> !c.ok()).map(Check::detail).toList());
        }
    }

    /**
     * @param migrationId the migration being prepared, which the container may already name; empty for a dry run
     * @param container   the container as the cluster has it, if it knows it
     * @param destination the id asked for as destination
     * @param members     lookup of members by id
     * @param nowMillis   the cluster's time, to judge heartbeat ages
     */
    public static Verdict check(String migrationId, String containerId, Optional<Container> container, String destination,
                                java.util.function.Function<String, Optional<Member>> members, boolean postCopy,
                                long nowMillis) {
        List<Check> out = new ArrayList<>();
        if (container.isEmpty()) {
            out.add(new Check("container", false, "no container " + containerId + " in the cluster"));
            return new Verdict(out);
        }
        Container c = container.get();
        String source = c.getOwner();
        boolean free = c.getMigrationId().isEmpty() || c.getMigrationId().equals(migrationId);
        out.add(new Check("container", c.getState() == ContainerState.RUNNING && free,
                free
                        ? "container " + c.getId() + " is " + c.getState() + " on " + source
                        : "container " + c.getId() + " is already migrating (migration " + c.getMigrationId() + ")"));
        out.add(new Check("destination", !destination.equals(source), destination.equals(source)
                ? "container " + c.getId() + " already runs on " + source + "; pick another destination"
                : "from " + source + " to " + destination));
        Optional<Member> dest = members.apply(destination);
        if (dest.isEmpty()) {
            out.add(new Check("member", false, "destination " + destination + " is not a member of the cluster"));
            return new Verdict(out);
        }
        Member d = dest.get();
        long age = Math.max(0, nowMillis - d.getLastHeartbeatMillis());
        out.add(new Check("alive", age <= LIVENESS.toMillis(), "destination " + destination + " last heard from "
                + age + " ms ago" + (age <= LIVENESS.toMillis() ? "" : " (more than " + LIVENESS.toMillis() + " ms: down?)")));
        out.add(new Check("reachable", !d.getControlAddress().isEmpty(), d.getControlAddress().isEmpty()
                ? "destination " + destination + " has no control address" : "control API at " + d.getControlAddress()));
        String destCriu = d.getCapabilities().getCriuVersion();
        String srcCriu = members.apply(source).map(m -> m.getCapabilities().getCriuVersion()).orElse("");
        boolean runtime = !destCriu.isEmpty() && !d.getCapabilities().getRuncVersion().isEmpty();
        out.add(new Check("runtime", runtime, runtime
                ? "destination has runc " + d.getCapabilities().getRuncVersion() + ", CRIU " + destCriu
                : "destination " + destination + " reported no container runtime (runc/CRIU)"));
        if (runtime) {
            Optional<String> why = criuIncompatibility(srcCriu, destCriu);
            out.add(new Check("criu", why.isEmpty(), why.orElse("CRIU " + srcCriu + " -> " + destCriu + " compatible")));
        }
        if (postCopy) {
            boolean lazy = d.getCapabilities().getLazyPages();
            out.add(new Check("lazy-pages", lazy, lazy ? "destination restores lazily (userfaultfd)"
                    : "destination " + destination + " cannot restore lazily (no userfaultfd for CRIU); migrate without --post-copy"));
        }
        return new Verdict(out);
    }

    /**
     * Why a CRIU of version {@code dest} may not restore images dumped by {@code source}: another
     * major version, or an older release. Unknown versions are not held against the migration.
     */
    static Optional<String> criuIncompatibility(String source, String dest) {
        Matcher s = VERSION.matcher(source);
        Matcher d = VERSION.matcher(dest);
        if (!s.find() || !d.find()) return Optional.empty();
        int[] sv = {Integer.parseInt(s.group(1)), Integer.parseInt(s.group(2)), s.group(3) == null ? 0 : Integer.parseInt(s.group(3))};
        int[] dv = {Integer.parseInt(d.group(1)), Integer.parseInt(d.group(2)), d.group(3) == null ? 0 : Integer.parseInt(d.group(3))};
        if (sv[0] != dv[0]) {
            return Optional.of("CRIU " + dest + " on the destination, " + source + " on the source: another major version");
        }
        for (int i = 1; i < 3; i++) {
            if (dv[i] < sv[i]) return Optional.of("CRIU " + dest + " on the destination is older than " + source + " on the source");
            if (dv[i] > sv[i]) break;
        }
        return Optional.empty();
    }
}
