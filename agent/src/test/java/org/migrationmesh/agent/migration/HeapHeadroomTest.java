package org.migrationmesh.agent.migration;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The collection is real: each collector runs in a JVM of its own (the agents run the serial one;
 * the others are what a user's own options could give them), which asks for room and reports what
 * the collector's own counters say happened.
 */
class HeapHeadroomTest {

    @Test
    void lessRoomThanAskedHasTheEdenCollectedUnderEachCollector() throws Exception {
        for (String gc : List.of("-XX:+UseSerialGC", "-XX:+UseParallelGC")) {
            String out = runJvm(gc);
            assertTrue(out.startsWith("found"), gc + ": the eden and its collector not found: " + out);
            assertTrue(out.contains("enough-room: none"), gc + ": collected with room left: " + out);
            assertTrue(out.matches("(?s).*short: collected=true, collections \\+[1-9].*"), gc + ": no young collection: " + out);
            java.util.regex.Matcher free = java.util.regex.Pattern.compile("after: free ([0-9]+) MiB").matcher(out);
            assertTrue(free.find(), out);
            assertTrue(Integer.parseInt(free.group(1)) >= 16, gc + ": eden not emptied: " + out);
        }
    }

    @Test
    void aJvmWhoseEdenHasNoSizeIsLeftAlone() throws Exception {
        for (String gc : List.of("-XX:+UseG1GC", "-XX:+UseEpsilonGC")) {
            String out = runJvm(gc);
            assertEquals("not found", out.strip(), gc + ": " + out);
        }
    }

    private static String runJvm(String gc) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        if (gc.contains("Epsilon")) cmd.add("-XX:+UnlockExperimentalVMOptions");
        cmd.addAll(List.of(gc, "-Xlog:disable", "-Xmx256m", "-Xmn64m", "-cp", System.getProperty("java.class.path"), Child.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM did not end: " + cmd);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    /** Keeps a little alive, then asks for room twice: first less than is free, then more than the eden holds. */
    public static final class Child {
        public static void main(String[] args) {
            Optional<HeapHeadroom> found = HeapHeadroom.ofThisJvm();
            if (found.isEmpty()) {
                System.out.println("not found");
                return;
            }
            HeapHeadroom h = found.get();
            System.out.println("found");
            List<byte[]> keep = new ArrayList<>();
            for (int i = 0; i < 16; i++) keep.add(new byte[64 << 10]); // a little that survives
            long free = h.free();
            System.out.println("enough-room: " + h.ensure(Math.max(free - (1 << 20), 0)).map(Object::toString).orElse("none"));
            long before = h.collections();
            HeapHeadroom.Collected c = h.ensure(Long.MAX_VALUE).orElseThrow();
            System.out.println("short: collected=" + c.collected() + ", collections +" + (h.collections() - before));
            System.out.println("after: free " + (h.free() >> 20) + " MiB, kept " + keep.size());
        }
    }
}
