package org.migrationmesh.agent.migration;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Faults an agent injects into itself on purpose, for failure tests; off unless the agent's
 * environment names them, like etcd's gofail. {@code MM_FAILPOINTS="transfer.corrupt-chunk=1"}
 * makes the first {@code 1} evaluations of that point fire ({@code always} for every one);
 * several are separated by commas. Known points:
 * <ul>
 *   <li>{@code transfer.corrupt-chunk}: the final image transfer flips one payload byte of an
 *       image chunk after its CRC was computed, on its way to the destination
 *       ({@link ChunkCorruption}).</li>
 * </ul>
 * Nothing else reads the variable; an agent started without it behaves exactly as without this class.
 */
public final class Failpoints {
    /** The environment variable read once per agent process. */
    public static final String ENV = "MM_FAILPOINTS";
    private static final Failpoints PROCESS = parse(System.getenv(ENV));

    private final Map<String, AtomicLong> remaining;

    private Failpoints(Map<String, AtomicLong> remaining) {
        this.remaining = remaining;
    }

    /** This process's failpoints, from {@value #ENV}. */
    public static Failpoints process() {
        return PROCESS;
    }

    /** Parses {@code name=count|always[,...]}; null or blank: none. Pure. */
    public static Failpoints parse(String spec) {
        Map<String, AtomicLong> m = new ConcurrentHashMap<>();
        if (spec != null) {
            for (String item : spec.split(",")) {
                if (item.isBlank()) continue;
                String[] kv = item.trim().split("=", 2);
                if (kv.length != 2 || kv[0].isBlank()) {
                    throw new IllegalArgumentException(ENV + " item '" + item + "' is not name=count or name=always");
                }
                long n = kv[1].trim().equals("always") ? Long.MAX_VALUE : Long.parseLong(kv[1].trim());
                m.put(kv[0].trim(), new AtomicLong(n));
            }
        }
        return new Failpoints(m);
    }

    /** Whether {@code name} fires now (and counts one firing). */
    public boolean fire(String name) {
        AtomicLong left = remaining.get(name);
        if (left == null) return false;
        return left.getAndUpdate(n -> n == Long.MAX_VALUE || n <= 0 ? n : n - 1) > 0;
    }

    public boolean isEmpty() {
        return remaining.isEmpty();
    }

    /** The points and their remaining firings, e.g. {@code {transfer.corrupt-chunk=1}}. */
    @Override
    public String toString() {
        return new java.util.TreeMap<>(remaining).toString();
    }
}
