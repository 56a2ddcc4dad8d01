package org.migrationmesh.transfer;

/** Told of a round's progress after every chunk; must be quick (it runs on the sending thread). */
@FunctionalInterface
public interface TransferListener {
    TransferListener NONE = p -> { };

    void onProgress(TransferProgress progress);
}
