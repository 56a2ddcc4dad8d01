package org.migrationmesh.transfer;

/**
 * The receiver (or the sender, checking its own input) refused data: a corrupt, truncated,
 * reordered or oversized chunk, a file that fails its digest, or a name that would escape the
 * image directory. Nothing of the refused round is published. Not retried.
 */
public class TransferRefusedException extends TransferException {
    /** Why the data was refused. */
    public enum Reason {
        BAD_NAME, BAD_MANIFEST, NO_SESSION, OUT_OF_ORDER, OVERSIZED, CORRUPT_CHUNK, TRUNCATED,
        FILE_DIGEST_MISMATCH, NOT_PLANNED, NOT_A_REGULAR_FILE,
        /** Page digests left out as held by the receiver are not what it holds: sent again in full. */
        HELD_DIGESTS_DIFFER
    }

    private final Reason reason;
    private final String file;

    public TransferRefusedException(String migrationId, int round, Reason reason, String file, String detail) {
        this(migrationId, round, reason, file, detail, null);
    }

    public TransferRefusedException(String migrationId, int round, Reason reason, String file, String detail,
                                    Throwable cause) {
        super(migrationId, round, reason + (file == null ? "" : " " + file) + ": " + detail, cause);
        this.reason = reason;
        this.file = file;
    }

    public Reason reason() {
        return reason;
    }

    /** The image file concerned, or null. */
    public String file() {
        return file;
    }
}
