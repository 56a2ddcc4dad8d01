package org.migrationmesh.transfer;

/**
 * Where a round stands.
 *
 * @param file          the file being sent
 * @param logicalDone   bytes of the image in place at the receiver (sent, reused or skipped)
 * @param logicalTotal  bytes of the whole image
 * @param wireBytes     bytes of messages exchanged so far, both directions
 */
public record TransferProgress(String file, long logicalDone, long logicalTotal, long wireBytes) {}
