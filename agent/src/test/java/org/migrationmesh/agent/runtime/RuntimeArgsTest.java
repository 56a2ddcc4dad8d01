package org.migrationmesh.agent.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The pure parts of the runtime adapter: argv builders, bundle config, version order. */
class RuntimeArgsTest {
    private static final Path IMG = Path.of("/var/lib/mm/img/2");
    private static final Path WORK = Path.of("/var/lib/mm/work");

    @Test
    void stopAndCopyKeepsTcpConnections() {
        assertThat(CheckpointOptions.stopAndCopy(IMG, WORK).args("c1")).containsExactly(
                "checkpoint", "--image-path", "/var/lib/mm/img/2", "--work-path", "/var/lib/mm/work",
                "--tcp-established", "c1");
    }

    @Test
    void preDumpPassesParentRelativeToImagePath() {
        List<String> args = CheckpointOptions.stopAndCopy(IMG, WORK).asPreDump(Path.of("/var/lib/mm/img/1")).args("c1");
        assertThat(args).containsSubsequence("--parent-path", "../1").contains("--pre-dump").doesNotContain("--leave-running");
    }

    @Test
    void aTeardownBehindIsAFinalDumpsOnlyAndNoArgumentOfRuncs() {
        CheckpointOptions behind = CheckpointOptions.stopAndCopy(IMG, WORK).withTeardownBehind(true);
        assertThat(behind.teardownBehind()).isTrue();
        assertThat(behind.args("c")).isEqualTo(CheckpointOptions.stopAndCopy(IMG, WORK).args("c"));
        assertThat(behind.withParent(Path.of("/var/lib/mm/img/1")).teardownBehind()).isTrue();
        assertThat(behind.asPreDump(null).teardownBehind()).as("a pre-dump runs beside the live container").isFalse();
        assertThat(CheckpointOptions.stopAndCopy(IMG, WORK).teardownBehind()).isFalse();
    }

    @Test
    void leaveRunningOnlyForFullDumps() {
        assertThat(CheckpointOptions.stopAndCopy(IMG, WORK).withLeaveRunning(true).args("c")).contains("--leave-running");
    }

    @Test
    void relativePathsAreRefused() {
        assertThatThrownBy(() -> CheckpointOptions.stopAndCopy(Path.of("img"), WORK))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("imagePath must be absolute, got 'img'");
    }

    @Test
    void restoreIsDetachedIntoTheGivenBundle() {
        List<String> args = RestoreOptions.of(IMG, WORK).withLazyPages(true).args("c1", Path.of("/b"), Path.of("/p"));
        assertThat(args).startsWith("restore", "--detach").containsSubsequence("--bundle", "/b")
                .contains("--lazy-pages", "--tcp-established").endsWith("c1");
    }

    @Test
    void versionsCompareNumerically() {
        assertThat(Criu.compareVersions("4.2.1", "4.2")).isPositive();
        assertThat(Criu.compareVersions("4.10", "4.2")).isPositive();
        assertThat(Criu.compareVersions("3.17.1", "4.2")).isNegative();
        assertThat(Criu.compareVersions("4.2", "4.2.0")).isZero();
    }

    @Test
    void bundleJoinsTheGivenNetnsAndCgroup() {
        BundleSpec spec = BundleSpec.of(List.of("/bin/x", "a"), Path.of("/var/run/netns/h1"), "/mm/h1/c");
        JsonNode c = BundleWriter.config(spec.on(Path.of("/var/run/netns/h2"), "/mm/h2/c"));
        assertThat(c.at("/linux/cgroupsPath").asText()).isEqualTo("/mm/h2/c");
        assertThat(c.at("/linux/namespaces").findValuesAsText("path")).containsExactly("/var/run/netns/h2");
        assertThat(c.at("/process/user/uid").asInt()).as("uid 0: a non-root uid fails the dump here").isZero();
        assertThat(c.at("/process/terminal").asBoolean()).isFalse();
        assertThat(c.at("/root/readonly").asBoolean()).isTrue();
        assertThat(c.at("/mounts").findValuesAsText("destination")).contains("/tmp", "/proc");
    }

    @Test
    void bundleWithoutNetnsPathGetsANewNamespace() {
        JsonNode c = BundleWriter.config(BundleSpec.of(List.of("/bin/x"), null, "/mm/c"));
        assertThat(c.at("/linux/namespaces").findValuesAsText("type")).contains("network");
        assertThat(c.at("/linux/namespaces").findValuesAsText("path")).isEmpty();
    }

    @Test
    void criuLogSummaryLeadsWithTheCause() {
        String log = "(0.1) a\n(0.2) Error (criu/sk-inet.c:199): inet: Connected TCP socket, consider using --tcp-established option.\n"
                + "(0.3) b\n(0.4) c\n(0.5) d\n(0.6) e\n(0.7) f\n(0.8) Error (criu/cr-dump.c:1975): Dumping FAILED.";
        String s = CriuLog.summary(log);
        assertThat(s.lines().findFirst()).hasValueSatisfying(l -> assertThat(l).contains("--tcp-established"));
        assertThat(s).contains("Dumping FAILED").doesNotContain("(0.1) a");
    }

    @Test
    void transferredPagesAreSummedOverTasks() {
        String log = "x\n(00.29) uffd: 1-11: UFFD transferred pages: (16390/16390)\n(00.30) uffd: 2-12: UFFD transferred pages: (5/7)\n";
        assertThat(LazyPagesDaemon.transferredPages(log)).containsExactly(16395, 16397);
        assertThat(LazyPagesDaemon.transferredPages("")).containsExactly(0, 0);
    }

    @Test
    void theDaemonsLogNamesTheFaultedPagesPerTaskFirstFirst() {
        String log = "(00.500183) uffd: 1-8: #PF at 0x7f6b15905000\n(00.500190) pr1-1 Read 7f6b15905000 1 pages\n"
                + "(00.503025) uffd: 1-8: #PF at 0x7fff52871234\n(00.503030) uffd: 7-9: #PF at 0x1000\n"
                + "(00.503056) uffd: 1-8: #PF at 0x7f6b15905000\n";
        java.util.Map<String, long[]> pages = LazyPagesDaemon.faultedPages(log);
        assertThat(pages.keySet()).containsExactly("1", "7");
        assertThat(pages.get("1")).containsExactly(0x7f6b15905000L, 0x7fff52871000L);
        assertThat(pages.get("7")).containsExactly(0x1000L);
    }
}
