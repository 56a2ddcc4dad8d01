package org.migrationmesh.agent.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Real child processes (coreutils): stdin and stdout from and to files, or stdout read back. */
class ProcessCommandRunnerTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private final CommandRunner runner = new ProcessCommandRunner();

    @Test
    void aCommandReadsItsStdinFromAFileAndWritesItsStdoutToOne(@TempDir Path dir) throws Exception {
        Path in = Files.writeString(dir.resolve("in"), "page\nimage\n");
        Path out = dir.resolve("out");
        CommandRunner.Execution e = runner.run(Command.of(TIMEOUT, List.of("tr", "a-z", "A-Z")).withStdinFrom(in).withStdoutTo(out));
        assertThat(e.succeeded()).isTrue();
        assertThat(Files.readString(out)).isEqualTo("PAGE\nIMAGE\n");
        assertThat(e.stdout()).as("written to the file, not read back").isEmpty();
    }

    @Test
    void withoutFilesStdinIsEmptyAndStdoutIsReadBack() throws Exception {
        CommandRunner.Execution e = runner.run(Command.of(TIMEOUT, List.of("sh", "-c", "wc -c; echo oops >&2; exit 3")));
        assertThat(e.exitCode()).isEqualTo(3);
        assertThat(e.stdout().strip()).isEqualTo("0");
        assertThat(e.stderr().strip()).isEqualTo("oops");
    }

    @Test
    void aDetachedCommandTakesNoFiles(@TempDir Path dir) {
        Command detached = new Command(List.of("true"), TIMEOUT, true, Map.of());
        assertThatThrownBy(() -> detached.withStdinFrom(dir.resolve("in")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("detached");
    }
}
