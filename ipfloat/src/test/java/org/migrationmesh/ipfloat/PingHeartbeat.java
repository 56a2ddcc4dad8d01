package org.migrationmesh.ipfloat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A real heartbeat standing for "contact with the cluster majority" in the tests: a host pings
 * a peer over its link every 100 ms and every echo reply is a confirmation. Cutting the link
 * stops the replies, exactly as it would stop the cluster's own heartbeats.
 */
final class PingHeartbeat implements MajorityContact, AutoCloseable {
    private final Process ping;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

    PingHeartbeat(TestNetwork net, String host, String peer) {
        ping = net.spawn(host, "ping", "-n", "-i", "0.1", "-W", "1", peer);
        Thread reader = new Thread(this::read, "heartbeat-" + host);
        reader.setDaemon(true);
        reader.start();
    }

    private void read() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(ping.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.contains("bytes from")) {
                    listeners.forEach(Runnable::run);
                }
            }
        } catch (IOException e) {
            // the process was killed on close: no more confirmations, which is the point
        }
    }

    @Override
    public AutoCloseable subscribe(Runnable onConfirmed) {
        listeners.add(onConfirmed);
        return () -> listeners.remove(onConfirmed);
    }

    @Override
    public void close() {
        ping.destroyForcibly();
    }
}
