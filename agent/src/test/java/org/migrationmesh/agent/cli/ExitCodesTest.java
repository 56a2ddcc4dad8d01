package org.migrationmesh.agent.cli;

import io.grpc.Status;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

class ExitCodesTest {
    @Test
    void statusCodesMapToExitCodes() {
        assertThat(ExitCodes.of(Status.UNAVAILABLE.asRuntimeException())).isEqualTo(ExitCodes.UNAVAILABLE);
        assertThat(ExitCodes.of(Status.DEADLINE_EXCEEDED.asRuntimeException())).isEqualTo(ExitCodes.UNAVAILABLE);
        assertThat(ExitCodes.of(Status.NOT_FOUND.asRuntimeException())).isEqualTo(ExitCodes.NOT_FOUND);
        assertThat(ExitCodes.of(Status.FAILED_PRECONDITION.asRuntimeException())).isEqualTo(ExitCodes.REFUSED);
        assertThat(ExitCodes.of(Status.ALREADY_EXISTS.asRuntimeException())).isEqualTo(ExitCodes.REFUSED);
        assertThat(ExitCodes.of(Status.INVALID_ARGUMENT.asRuntimeException())).isEqualTo(ExitCodes.USAGE);
        assertThat(ExitCodes.of(Status.INTERNAL.asRuntimeException())).isEqualTo(ExitCodes.FAILURE);
        assertThat(ExitCodes.of(new IllegalStateException("x"))).isEqualTo(ExitCodes.FAILURE);
    }

    @Test
    void errorsAreOneLineWithTheStatusDescription() {
        assertThat(ExitCodes.oneLine(Status.FAILED_PRECONDITION.withDescription("container web is already migrating")
                .asRuntimeException())).isEqualTo("FAILED_PRECONDITION: container web is already migrating");
    }

    @Test
    void runTakesExactlyOneOfWorkloadAndRootfsWithoutTouchingTheNetwork() {
        StringWriter err = new StringWriter();
        int both = AgentCtl.execute(new PrintWriter(new StringWriter()), new PrintWriter(err), "--peer", "127.0.0.1:1",
                "run", "oa1", "--workload", "tickserver", "--rootfs", "/r", "--", "/bin/x");
        assertThat(both).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("--workload NAME or --rootfs DIR, not both");
        err.getBuffer().setLength(0);
        int relative = AgentCtl.execute(new PrintWriter(new StringWriter()), new PrintWriter(err), "--peer", "127.0.0.1:1",
                "run", "oa1", "--rootfs", "images/oa", "--", "/bin/x");
        assertThat(relative).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("absolute path").contains("images/oa");
        err.getBuffer().setLength(0);
        int noCommand = AgentCtl.execute(new PrintWriter(new StringWriter()), new PrintWriter(err), "--peer", "127.0.0.1:1",
                "run", "oa1", "--rootfs", "/r");
        assertThat(noCommand).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("needs the command");
    }

    @Test
    void usageErrorsExitTwoWithoutTouchingTheNetwork() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = AgentCtl.execute(new PrintWriter(out), new PrintWriter(err), "migrate", "web");
        assertThat(exit).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("--to");
        assertThat(out.toString()).isEmpty();
    }

    @Test
    void tablesAlignColumnsAndShowDashForEmpty() {
        String t = new Table("A", "LONGER").row("x", "").row("yyyy", 7).render();
        assertThat(t).isEqualTo("A     LONGER\nx     -\nyyyy  7\n");
    }
}
