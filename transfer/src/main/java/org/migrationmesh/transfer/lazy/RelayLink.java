package org.migrationmesh.transfer.lazy;

import org.migrationmesh.proto.lazypages.RelayFrame;

/** One TCP connection joined to one relay call: what the call's observers drive. */
interface RelayLink {
    /** Starts the thread that reads the socket. */
    void start();

    /** A frame from the other agent. */
    void onFrame(RelayFrame frame);

    /** The call failed or was cancelled: close everything. */
    void onCallError(Throwable t);

    /** The other agent completed its side of the call. */
    void onCallCompleted();

    /** Closes the socket and stops, whatever the state. */
    void closeAll();

    /** Bytes that came from the other agent so far (pages and headers, pushed or asked). */
    long bytesFromPeer();
}
