package org.migrationmesh.agent;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code bin/agent} starts the JVM with the options the tour and the tests start agents with. */
class AgentJvmOptionsTest {
    @Test
    void binAgentPassesTheAgentsJvmOptions() throws Exception {
        Path script = Path.of("..", "bin", "agent");
        String exec = Files.readAllLines(script).stream().filter(l -> l.startsWith("exec java ")).findFirst()
                .orElseThrow(() -> new AssertionError(script + " has no line 'exec java ...'"));
        List<String> words = Arrays.asList(exec.trim().split("\\s+"));
        List<String> options = words.subList(2, words.indexOf("-jar"));
        assertThat(options).containsExactlyElementsOf(AgentMain.JVM_OPTIONS);
    }
}
