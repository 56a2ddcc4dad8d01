package org.migrationmesh.agent.sim;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** A client process (mmprobe) whose output is collected line by line while it runs. */
public final class ProbeProcess implements AutoCloseable {
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final Process process;
    private final Thread reader;

    public ProbeProcess(Process process) {
        this.process = process;
        this.reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) lines.add(line);
            } catch (IOException ignored) {
                // the probe ended
            }
        }, "probe-reader");
        reader.setDaemon(true);
        reader.start();
    }

    /** The lines printed so far (a live, thread-safe view). */
    public List<String> lines() {
        return lines;
    }

    /** Waits for the probe to exit and for its last line to be read; false on timeout. */
    public boolean awaitEnd(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) return false;
        reader.join(5000);
        return !reader.isAlive();
    }

    /**
     * Asks the probe to stop (SIGTERM) so that it prints its summary; its output is still read
     * (unlike {@link Process#destroy()}, which closes the streams). Follow with {@link #awaitEnd}.
     */
    public void terminate() {
        process.toHandle().destroy();
    }

    @Override
    public void close() {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }
}
