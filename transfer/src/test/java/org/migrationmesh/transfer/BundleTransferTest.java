package org.migrationmesh.transfer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** Bundles travel as one archive (real tar), by content: sent once to a host, reused after. */
class BundleTransferTest {
    @TempDir
    Path tmp;
    TransferHarness h;

    @BeforeEach
    void start() throws Exception {
        h = TransferHarness.inProcess(tmp.resolve("receiver"));
    }

    @AfterEach
    void stop() {
        h.close();
    }

    @Test
    void aBundleIsSentOnceThenReusedAndUnpacksToTheSameTree() throws Exception {
        Path bundle = tmp.resolve("bundle");
        Files.createDirectories(bundle.resolve("rootfs/bin"));
        Files.createDirectories(bundle.resolve("rootfs/etc"));
        Files.writeString(bundle.resolve("config.json"), "{\"ociVersion\":\"1.0.2\"}");
        byte[] binary = new byte[300_000];
        new java.util.Random(1).nextBytes(binary);
        Files.write(bundle.resolve("rootfs/bin/server"), binary);
        Files.writeString(bundle.resolve("rootfs/etc/motd"), "hello\n");
        Files.createSymbolicLink(bundle.resolve("rootfs/etc/link"), Path.of("../bin/server"));
        Path work = Files.createDirectories(tmp.resolve("work"));
        ImageSender sender = h.sender();

        TransferReport first = sender.sendBundle("bundle-a-" + UUID.randomUUID(), bundle, work, TransferOptions.defaults());
        assertThat(first.filesReused()).isZero();
        assertThat(first.payloadBytes()).isGreaterThan(binary.length / 2);

        TransferReport again = sender.sendBundle("bundle-b-" + UUID.randomUUID(), bundle, work, TransferOptions.defaults());
        assertThat(again.filesReused()).isEqualTo(1);
        assertThat(again.payloadBytes()).isZero();
        assertThat(again.wireBytes()).isLessThan(1024);

        Path unpacked = tmp.resolve("unpacked");
        BundleArchive.unpack(Path.of(again.receiverImageDir()).resolve(BundleArchive.FILE_NAME), unpacked);
        assertThat(Files.mismatch(bundle.resolve("rootfs/bin/server"), unpacked.resolve("rootfs/bin/server"))).isEqualTo(-1);
        assertThat(Files.readString(unpacked.resolve("config.json"))).isEqualTo(Files.readString(bundle.resolve("config.json")));
        assertThat(Files.readSymbolicLink(unpacked.resolve("rootfs/etc/link"))).isEqualTo(Path.of("../bin/server"));
        assertThat(work).isEmptyDirectory();
    }

    @Test
    void unchangedImageFilesOfAnotherMigrationAreNotSentAgain() throws Exception {
        Path src = tmp.resolve("src");
        SyntheticImage.write(src, 8);
        h.sender().send("m1-" + UUID.randomUUID(), 1, src, TransferOptions.defaults(), TransferListener.NONE);
        TransferReport other = h.sender().send("m2-" + UUID.randomUUID(), 1, src, TransferOptions.defaults(), TransferListener.NONE);
        TransferHarness.assertSameTree(src, Path.of(other.receiverImageDir()));
        assertThat(other.filesReused()).isEqualTo(3); // core, inventory, pagemap; pages go by page, not by file
    }
}
