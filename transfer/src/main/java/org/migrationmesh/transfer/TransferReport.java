package org.migrationmesh.transfer;

import java.time.Duration;

/**
 * The figures of one sent round.
 *
 * @param files            files in the image
 * @param filesReused      files the receiver already held whole (not sent)
 * @param logicalBytes     bytes of the image
 * @param wireBytes        bytes of protobuf messages exchanged, both directions
 * @param payloadBytes     bytes of chunk payloads (data pages and plain bytes, after compression)
 * @param pages            pages in the pages files laid out by a pagemap
 * @param pagesSent        pages sent as bytes
 * @param pagesUnchanged   pages skipped because the receiver held them
 * @param pagesZero        zero pages (not sent)
 * @param pagesDuplicate   pages sent as a reference to an earlier equal page
 * @param resumedBytes     bytes found already verified at the receiver when an attempt began
 * @param attempts         attempts used (more than one: a broken stream was resumed)
 * @param elapsed          from scan start to commit
 * @param scanning         of which reading the image before sending (manifest, page digests)
 * @param planning         of which waiting for the plans (the Begin that carried the page digests, or PlanPages answers:
 *                         the receiver plans and lays out pages files)
 * @param committing       of which from sending the commit (the upload's last message) to its answer (the receiver takes
 *                         the chunks still in flight, checks every file and publishes)
 * @param receiverImageDir the published image directory on the receiver
 */
public record TransferReport(String migrationId, int round, int files, int filesReused, long logicalBytes, long wireBytes,
                             long payloadBytes, long pages, long pagesSent, long pagesUnchanged, long pagesZero,
                             long pagesDuplicate, long resumedBytes, int attempts, Duration elapsed,
                             Duration scanning, Duration planning, Duration committing, String receiverImageDir) {
    /** Logical bytes per second. */
    public double throughput() {
        double s = elapsed.toNanos() / 1e9;
        return s <= 0 ? Double.POSITIVE_INFINITY : logicalBytes / s;
    }

    /** Wire bytes per logical byte. */
    public double wireRatio() {
        return logicalBytes == 0 ? 0 : (double) wireBytes / logicalBytes;
    }
}
