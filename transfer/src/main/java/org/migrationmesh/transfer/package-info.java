/**
 * The data plane of a migration: agents send checkpoint image directories to each other as
 * gRPC streams of checked chunks (service {@code ImageTransfer} in transfer.proto).
 *
 * <p>Public API: {@link org.migrationmesh.transfer.ImageSender#send} sends one round of an image
 * directory and returns a {@link org.migrationmesh.transfer.TransferReport} (progress on the way
 * to a {@link org.migrationmesh.transfer.TransferListener});
 * {@link org.migrationmesh.transfer.ImageReceiver} is the service that rebuilds rounds under a
 * root directory and publishes each one atomically; its per-migration
 * {@link org.migrationmesh.transfer.PageStore} holds the pages later rounds are compared with,
 * including pages read live from the running process
 * ({@link org.migrationmesh.transfer.ImageSender#sendLivePages}).
 *
 * <p>A round, in two round trips when the pagemaps and page digests are small (a final round
 * after pre-copy): Begin carries the manifest, the pagemaps and the sender's 8-byte digest per
 * page of each {@code pages-*.img}; the receiver answers what it has (also the resume point; a
 * file it holds with the same SHA-256 is copied there, not sent) and, per pages file, the bitmap
 * of pages it lacks at that address, and lays out the pages it holds in the staging file
 * ({@link org.migrationmesh.transfer.PagePlanning}). Then one Upload carries the plain files and
 * the pages files (zero, held and repeated pages as one-byte operations, the rest as bytes, zstd
 * where it pays off; the sender reads only the pages that travel) and ends with the commit
 * (every file checked against its digest: SHA-256 of the bytes, or for a planned pages file of
 * its page digests ({@link org.migrationmesh.transfer.PageListDigest}), whose every chunk was
 * checked by CRC32C where it lies; staging directory renamed into place), answered by the
 * published round. Pagemaps or digests too large to ride along with Begin go the long way:
 * Upload of the pagemaps, PlanPages per slice of digests, then the upload with the commit.
 *
 * <p>Pure cores: {@link org.migrationmesh.transfer.PagemapImage},
 * {@link org.migrationmesh.transfer.DeltaPlanner}, {@link org.migrationmesh.transfer.ChunkCodec},
 * {@link org.migrationmesh.transfer.ImageManifest}, {@link org.migrationmesh.transfer.PageHash},
 * {@link org.migrationmesh.transfer.PageCrcs}, {@link org.migrationmesh.transfer.PageListDigest}.
 */
package org.migrationmesh.transfer;
