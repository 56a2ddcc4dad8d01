package org.migrationmesh.ipfloat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One long-lived {@code ip -j -force -batch -} (in a namespace, given {@code -n NAME}) that runs
 * {@code ip} commands written to its standard input, one per line: a command costs a line
 * written and read back instead of a process started (~1.2 ms of CPU each, measured here; an
 * agent runs ~5 while a container it migrates is frozen).
 *
 * <p>{@code ip} reports a failed command in batch mode on stderr as its messages followed by
 * {@code Command failed -:LINE}, and with {@code -force} goes on with the next line; it flushes
 * stdout after each command. So each command is followed by a marker, a command that fails on
 * purpose ({@code ip} object {@value #MARKER}): once the marker's failure is on stderr, whatever the command
 * printed is in the pipes, and its own {@code Command failed} line, if any, came before. A
 * command that prints ({@code -j ... show}) prints one line of JSON.
 *
 * <p>The process starts on first use and again after it died or a command timed out (it is then
 * killed: the lines it owes would be read as another command's). It ends with {@link #close()},
 * or by itself once its stdin closes, which the JVM's exit does.
 */
final class IpBatch implements AutoCloseable {
    /**
     * An object {@code ip} does not know: it fails before touching any state. (Not a command such
     * as {@code link show} of a missing device: a {@code link show} makes the batch's later
     * {@code addr show} list links without their addresses, iproute2 6.1.)
     */
    static final String MARKER = "mm-marker";
    private static final String FAILED = "Command failed -:";

    private final List<String> argv;
    private final Duration timeout;
    private Process process;
    private OutputStream stdin;
    private BlockingQueue<String> out;
    private BlockingQueue<String> err;
    /** The thread that fills {@link #err}: it ends when the process has closed stderr. */
    private Thread errReader;
    /** Lines written to the current process. */
    private int lines;

    /** @param namespace a network namespace name, or null for this process's own */
    IpBatch(String namespace, Duration timeout) {
        List<String> a = new ArrayList<>(List.of("ip"));
        if (namespace != null) a.addAll(List.of("-n", namespace));
        a.addAll(List.of("-j", "-force", "-batch", "-"));
        this.argv = List.copyOf(a);
        this.timeout = timeout;
    }

    /**
     * Runs {@code command} ({@code ip}'s arguments after the global options, one line, e.g.
     * {@code addr del 10.0.0.5/24 dev eth0}); returns the line of JSON it printed if
     * {@code printsJson}, else "". A failure throws {@link FloatingIpException.CommandFailed}
     * with {@code standalone} (the same command as its own {@code ip} call) as argv, exit code
     * 1, and ip's messages; a batch that cannot start or dies, with its own exit code.
     */
    synchronized String run(String command, boolean printsJson, List<String> standalone) {
        if (command.indexOf('\n') >= 0) throw new IllegalArgumentException("one command per line: " + command);
        long deadline = System.nanoTime() + timeout.toNanos();
        start();
        int commandLine = lines + 1, markerLine = lines + 2;
        try {
            stdin.write((command + "\n" + MARKER + "\n").getBytes(StandardCharsets.UTF_8));
            stdin.flush();
            lines += 2;
        } catch (IOException e) {
            FloatingIpException.CommandFailed dead = died(standalone, List.of());
            throw new FloatingIpException.CommandFailed(standalone, dead.exitCode(),
                    CommandRunner.tail((dead.stderrTail() + "\n(cannot write to it: " + e.getMessage() + ")").strip()), e);
        }
        List<String> messages = new ArrayList<>();
        boolean failed = false;
        while (true) {
            String line = poll(err, deadline, standalone);
            if (line == null) throw died(standalone, messages);
            if (line.equals(FAILED + markerLine)) break;
            if (line.equals(FAILED + commandLine)) failed = true;
            else if (!failed) messages.add(line);
        }
        if (failed) {
            throw new FloatingIpException.CommandFailed(standalone, 1, CommandRunner.tail(String.join("\n", messages)), null);
        }
        if (!printsJson) return "";
        String json = poll(out, deadline, standalone);
        if (json == null) throw died(standalone, messages);
        if (!json.startsWith("[")) {
            kill();
            throw new FloatingIpException.CommandFailed(standalone, -1, "ip -batch printed '" + CommandRunner.tail(json)
                    + "' where JSON was expected; restarting it", null);
        }
        return json;
    }

    private void start() {
        if (process != null && process.isAlive()) return;
        kill();
        try {
            process = new ProcessBuilder(argv).start();
        } catch (IOException e) {
            throw new FloatingIpException.CommandFailed(argv, -1, "cannot start: " + e.getMessage(), e);
        }
        stdin = process.getOutputStream();
        out = new LinkedBlockingQueue<>();
        reader(process.getInputStream(), out, "ip-batch-out");
        err = new LinkedBlockingQueue<>();
        errReader = reader(process.getErrorStream(), err, "ip-batch-err");
        lines = 0;
    }

    /** Starts a daemon thread that puts the lines of {@code stream} into {@code q} until it ends; returns the thread. */
    private static Thread reader(InputStream stream, BlockingQueue<String> q, String name) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) q.add(line);
            } catch (IOException e) {
                // the process ended; poll() sees it
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** The next line of {@code q}; null if the process died first; throws once the deadline passes. */
    private String poll(BlockingQueue<String> q, long deadline, List<String> standalone) {
        try {
            while (true) {
                String line = q.poll(10, TimeUnit.MILLISECONDS);
                if (line != null) return line;
                if (!process.isAlive() && q.isEmpty()) {
                    // its last words may still be on their way through the reader thread
                    return q.poll(200, TimeUnit.MILLISECONDS);
                }
                if (System.nanoTime() > deadline) {
                    kill();
                    throw new FloatingIpException.CommandFailed(standalone, -1,
                            "timed out after " + timeout.toMillis() + " ms (ip -batch)", null);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            kill();
            throw new FloatingIpException.CommandFailed(standalone, -1, "interrupted", e);
        }
    }

    /** The process is gone: its exit code and what it said on stderr ({@code said} read already). */
    private FloatingIpException.CommandFailed died(List<String> standalone, List<String> read) {
        Process p = process;
        int code = -1;
        try {
            if (p.waitFor(1, TimeUnit.SECONDS)) {
                code = p.exitValue();
                errReader.join(1000); // its last words: a write can fail before the reader has them
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<String> said = new ArrayList<>(read);
        err.drainTo(said);
        kill();
        return new FloatingIpException.CommandFailed(standalone, code, CommandRunner.tail(String.join("\n", said).strip()), null);
    }

    private void kill() {
        if (process != null) process.destroyForcibly();
        process = null;
    }

    @Override
    public synchronized void close() {
        if (process == null) return;
        try {
            stdin.close(); // ip ends at the end of its input
        } catch (IOException ignored) {
            // killed below anyway
        }
        try {
            if (!process.waitFor(1, TimeUnit.SECONDS)) process.destroyForcibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        process = null;
    }
}
