package org.migrationmesh.transfer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.UUID;

/** Base of the tests that run a sender against a receiver over in-process gRPC: a fresh harness and migration id each. */
abstract class InProcessTransfer {
    @TempDir
    Path tmp;
    TransferHarness h;
    String migration;

    @BeforeEach
    void start() throws Exception {
        h = TransferHarness.inProcess(tmp.resolve("receiver"));
        migration = "m-" + UUID.randomUUID();
    }

    @AfterEach
    void stop() throws Exception {
        h.close();
    }
}
