package org.migrationmesh.ipfloat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Runs one external command with a deadline and returns its stdout; a non-zero exit, a
 * timeout or an interrupt becomes {@link FloatingIpException.CommandFailed} with argv and the
 * tail of stderr. An interrupted or timed-out command is killed.
 */
final class CommandRunner {
    private static final int STDERR_TAIL = 2000;
    /** Reads the pipes; a thread per reader so a long arping never delays a short ip call. */
    private static final ExecutorService READERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "command-output");
        t.setDaemon(true);
        return t;
    });

    private CommandRunner() {
    }

    static String run(List<String> argv, Duration timeout) {
        Process process;
        try {
            process = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
        } catch (IOException e) {
            throw new FloatingIpException.CommandFailed(argv, -1, "cannot start: " + e.getMessage(), e);
        }
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> drain(process.getInputStream()), READERS);
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> drain(process.getErrorStream()), READERS);
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new FloatingIpException.CommandFailed(argv, -1,
                        "timed out after " + timeout.toMillis() + " ms", null);
            }
            String stdout = out.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            String stderr = tail(err.get(timeout.toMillis(), TimeUnit.MILLISECONDS));
            int code = process.exitValue();
            if (code != 0) {
                throw new FloatingIpException.CommandFailed(argv, code, stderr, null);
            }
            return stdout;
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new FloatingIpException.CommandFailed(argv, -1, "interrupted", e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            process.destroyForcibly();
            throw new FloatingIpException.CommandFailed(argv, -1, "cannot read output: " + e, e);
        }
    }

    private static String drain(InputStream in) {
        try (in) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            in.transferTo(buf);
            return buf.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last {@value #STDERR_TAIL} characters of {@code s}, for an error message. */
    static String tail(String s) {
        return s.length() <= STDERR_TAIL ? s : s.substring(s.length() - STDERR_TAIL);
    }
}
