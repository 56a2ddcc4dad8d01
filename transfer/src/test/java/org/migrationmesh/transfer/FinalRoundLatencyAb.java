package org.migrationmesh.transfer;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs {@link FinalRoundLatencyBenchmark} against two builds of the transfer module in one JVM,
 * alternately (before, after, before, ...), so both see the same load of the machine, and prints
 * per build the median [p25, p75] of the one-upload round's total, scan, plan, commit and CPU, and
 * the after/before ratio of the medians. Each build's classes come from a directory of its own
 * (e.g. {@code transfer/target/classes} copied aside before a change); this module's test classes
 * drive both. Numbers only.
 *
 * <p>Arguments: [before classes dir] [after classes dir] [alternations (4)] then the benchmark's
 * own: [link: direct or one-way ms (direct)] [MB (20)] [pages changed (100)] [runs (5)] [shifted].
 */
public final class FinalRoundLatencyAb {
    private static final Pattern RUN = Pattern.compile(
            "one upload: final\\s+(\\d+) ms .*\\(scan (\\d+), plan (\\d+), commit (\\d+) ms; CPU (\\d+) ms");
    private static final String[] FIGURES = {"total", "scan", "plan", "commit", "CPU"};

    public static void main(String[] args) throws Exception {
        Path[] builds = {Path.of(args[0]), Path.of(args[1])};
        int alternations = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        List<String> bench = new ArrayList<>(List.of("direct", "20", "100", "5"));
        for (int i = 3; i < args.length; i++) {
            if (i - 3 < bench.size()) bench.set(i - 3, args[i]);
            else bench.add(args[i]);
        }
        Path tests = Path.of(FinalRoundLatencyAb.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<URL> deps = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(e).toAbsolutePath();
            if (!p.equals(tests.toAbsolutePath()) && !p.endsWith(Path.of("transfer", "target", "classes"))) deps.add(p.toUri().toURL());
        }
        ClassLoader shared = new URLClassLoader(deps.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
        Method[] mains = new Method[2];
        for (int b = 0; b < 2; b++) {
            ClassLoader l = new URLClassLoader(new URL[] {tests.toUri().toURL(), builds[b].toUri().toURL()}, shared);
            mains[b] = l.loadClass(FinalRoundLatencyBenchmark.class.getName()).getMethod("main", String[].class);
        }
        List<List<double[]>> runs = List.of(new ArrayList<>(), new ArrayList<>());
        PrintStream out = System.out;
        for (int a = 0; a < alternations; a++) {
            for (int b = 0; b < 2; b++) {
                ByteArrayOutputStream printed = new ByteArrayOutputStream();
                System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
                try {
                    mains[b].invoke(null, (Object) bench.toArray(String[]::new));
                } finally {
                    System.setOut(out);
                }
                for (String line : printed.toString(StandardCharsets.UTF_8).split("\n")) {
                    Matcher m = RUN.matcher(line);
                    if (!m.find()) continue;
                    double[] figures = new double[FIGURES.length];
                    for (int k = 0; k < figures.length; k++) figures[k] = Double.parseDouble(m.group(k + 1));
                    runs.get(b).add(figures);
                }
            }
        }
        double[][] medians = new double[2][FIGURES.length];
        for (int b = 0; b < 2; b++) {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-6s %s (%d runs, %s):", b == 0 ? "before" : "after",
                    builds[b], runs.get(b).size(), String.join(" ", bench)));
            for (int k = 0; k < FIGURES.length; k++) {
                double[] xs = new double[runs.get(b).size()];
                for (int i = 0; i < xs.length; i++) xs[i] = runs.get(b).get(i)[k];
                Arrays.sort(xs);
                medians[b][k] = xs[xs.length / 2];
                line.append(String.format(Locale.ROOT, " %s %.0f [%.0f, %.0f]", FIGURES[k], medians[b][k], xs[xs.length / 4],
                        xs[3 * xs.length / 4]));
            }
            System.out.println(line);
        }
        StringBuilder ratio = new StringBuilder("after/before medians:");
        for (int k = 0; k < FIGURES.length; k++) {
            ratio.append(String.format(Locale.ROOT, " %s %.2f", FIGURES[k], medians[1][k] / medians[0][k]));
        }
        System.out.println(ratio);
        System.exit(0); // the benchmark's gRPC threads of both builds
    }
}
