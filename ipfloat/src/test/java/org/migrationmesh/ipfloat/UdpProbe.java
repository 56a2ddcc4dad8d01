package org.migrationmesh.ipfloat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A client in its own namespace sending a UDP datagram to the floating IP every few
 * milliseconds ({@code mmprobe udp}); every reply is stamped with {@link System#nanoTime()}
 * as it is read. Each host's responder (tickserver) says its start time in the reply, which
 * tells which host answered.
 */
final class UdpProbe implements AutoCloseable {
    private static final Pattern REPLY = Pattern.compile("^\\d+ seq (\\d+) tick \\d+ start (\\d+)$");

    /** One reply: when it was read, which request it answers, which responder sent it. */
    record Reply(long nanos, long seq, long responder) {
    }

    private final Process process;
    private final Thread reader;
    private final List<Reply> replies = new ArrayList<>();
    private volatile String summary = "";

    UdpProbe(TestNetwork net, String host, FloatingAddress target, int port, int intervalMs, int seconds) {
        process = net.spawn(host, TestPrograms.mmprobe(), "udp", target.host(), Integer.toString(port),
                Integer.toString(intervalMs), Integer.toString(seconds));
        reader = new Thread(this::read, "udp-probe");
        reader.setDaemon(true);
        reader.start();
    }

    private void read() {
        try (BufferedReader in = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                long now = System.nanoTime();
                Matcher m = REPLY.matcher(line);
                if (m.matches()) {
                    synchronized (replies) {
                        replies.add(new Reply(now, Long.parseLong(m.group(1)), Long.parseLong(m.group(2))));
                        replies.notifyAll();
                    }
                } else if (line.startsWith("summary")) {
                    summary = line;
                }
            }
        } catch (IOException e) {
            summary = "read failed: " + e;
        }
    }

    List<Reply> replies() {
        synchronized (replies) {
            return List.copyOf(replies);
        }
    }

    /** The first reply read at or after {@code sinceNanos} from a responder other than {@code not}, or null. */
    Reply awaitReplyFrom(long responderOrAny, long notResponder, long sinceNanos, long timeoutMs)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        synchronized (replies) {
            while (true) {
                for (Reply r : replies) {
                    if (r.nanos >= sinceNanos && r.responder != notResponder
                            && (responderOrAny < 0 || r.responder == responderOrAny)) {
                        return r;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return null;
                }
                TimeUnit.NANOSECONDS.timedWait(replies, left);
            }
        }
    }

    /** Waits for the probe to finish its run and returns its summary line. */
    String finish() throws InterruptedException {
        process.waitFor(30, TimeUnit.SECONDS);
        reader.join(5000);
        return summary;
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
