package org.migrationmesh.agent.runtime;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs commands as child processes of the agent, killing the whole tree at the deadline. */
public final class ProcessCommandRunner implements CommandRunner {
    private static final File DEV_NULL = new File("/dev/null");

    @Override
    public Execution run(Command command) throws IOException {
        long start = System.nanoTime();
        ProcessBuilder pb = new ProcessBuilder(command.argv());
        pb.environment().putAll(command.env());
        if (command.detachedStdio()) {
            pb.redirectInput(DEV_NULL).redirectOutput(DEV_NULL).redirectError(DEV_NULL);
        } else {
            pb.redirectInput(command.stdinFrom() == null ? DEV_NULL : command.stdinFrom().toFile());
            if (command.stdoutTo() != null) pb.redirectOutput(command.stdoutTo().toFile());
        }
        Process p = pb.start();
        CompletableFuture<String> out = command.detachedStdio() || command.stdoutTo() != null
                ? CompletableFuture.completedFuture("") : drain(p.getInputStream());
        CompletableFuture<String> err = command.detachedStdio() ? CompletableFuture.completedFuture("") : drain(p.getErrorStream());
        boolean done;
        try {
            done = p.waitFor(command.timeout().toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            killTree(p);
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command.argv(), e);
        }
        if (!done) {
            killTree(p);
        }
        String stdout = out.join();
        String stderr = err.join();
        return new Execution(done ? p.exitValue() : CommandFailure.TIMED_OUT, stdout, stderr, System.nanoTime() - start);
    }

    @Override
    public Process start(Command command, Path stdout, Path stderr) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command.argv());
        pb.environment().putAll(command.env());
        return pb.redirectInput(DEV_NULL)
                .redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile())
                .start();
    }

    /** Kills a process and everything it started (a timed-out runc leaves CRIU behind otherwise). */
    static void killTree(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Reads a stream to its end on a thread of its own (the common pool may have one thread). */
    private static CompletableFuture<String> drain(InputStream in) {
        CompletableFuture<String> result = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try (in) {
                ByteArrayOutputStream buf = new ByteArrayOutputStream();
                in.transferTo(buf);
                result.complete(buf.toString(StandardCharsets.UTF_8));
            } catch (IOException e) {
                result.completeExceptionally(new UncheckedIOException(e));
            }
        }, "command-output");
        t.setDaemon(true);
        t.start();
        return result;
    }
}
