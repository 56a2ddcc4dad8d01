package org.migrationmesh.agent.tour;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The main job and its benchmark, shortened: real agents in the simulated world carry the
 * OpenArena server over two legs while the prober watches; the seed's script moves the same
 * server on the same world. Both must keep the server's level going.
 */
class WorldTourIT {
    @TempDir
    Path out;

    @Test
    void theServerTravelsAndTheClientSeesItGoOn() throws Exception {
        String printed = run(WorldTour::new, "--legs", "strasbourg:pre,stuttgart:stop");
        assertThat(printed).contains("cluster: 4 agents").contains("report (pre-copy)").contains("report (stop-and-copy)");
        assertThat(printed.split("server went on \\(level time", -1)).hasSize(3);
        assertThat(printed).contains("the client stayed connected and the server went on through every leg");
    }

    @Test
    void theBenchmarkRunsBothMethodsAndWritesItsResults() throws Exception {
        String printed = run(TourBenchmark::new, "--world", "loopback", "--legs", "strasbourg:stop", "--repetitions", "1",
                "--out", out.toString());
        assertThat(printed).contains("migration-mesh").contains("seed (runc+rsync+keepalived)");
        List<String> csv = Files.readAllLines(out.resolve("tour-loopback.csv"));
        assertThat(csv).hasSize(3);
        assertThat(csv.subList(1, 3)).allSatisfy(l -> assertThat(l).contains(",stuttgart,strasbourg,stop,").endsWith(",true"));
        assertThat(Files.readString(out.resolve("tour-loopback.svg"))).startsWith("<svg");
        assertThat(Files.readString(out.resolve("tour-loopback.md"))).contains("| stuttgart -> strasbourg (stop) |");
    }

    /** Makes the command once the output is captured (it prints to System.out as it was then) and runs it with its output echoed to the test's log; fails on a non-zero exit. */
    private static String run(java.util.function.Supplier<Object> command, String... args) {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int exit;
        try (PrintStream both = new PrintStream(new TeeStream(captured, original), true, StandardCharsets.UTF_8)) {
            System.setOut(both);
            exit = new CommandLine(command.get()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
        } finally {
            System.setOut(original);
        }
        String printed = captured.toString(StandardCharsets.UTF_8);
        assertThat(exit).as(printed).isZero();
        return printed;
    }

    private static final class TeeStream extends java.io.OutputStream {
        private final java.io.OutputStream a, b;

        TeeStream(java.io.OutputStream a, java.io.OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int c) throws java.io.IOException {
            a.write(c);
            b.write(c);
        }

        @Override
        public void write(byte[] buf, int off, int len) throws java.io.IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }
    }
}
