package org.migrationmesh.transfer;

/** Base of the transfer module's failures; carries the migration and round it concerns. */
public class TransferException extends RuntimeException {
    private final String migrationId;
    private final int round;

    public TransferException(String migrationId, int round, String message, Throwable cause) {
        super("migration " + migrationId + " round " + round + ": " + message, cause);
        this.migrationId = migrationId;
        this.round = round;
    }

    public String migrationId() {
        return migrationId;
    }

    public int round() {
        return round;
    }
}
