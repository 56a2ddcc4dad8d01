package org.migrationmesh.cluster;

import org.migrationmesh.proto.cluster.CommandResult;
import org.migrationmesh.proto.cluster.RefusalCode;

/**
 * The replicated state machine refused a command: the state is unchanged. The message names the
 * container, migration or member and says what to do; stale-epoch refusals carry both epochs.
 */
public class CommandRefusedException extends ClusterException {
    private static final long serialVersionUID = 1L;

    private final RefusalCode code;
    private final long expectedEpoch;
    private final long actualEpoch;

    public CommandRefusedException(RefusalCode code, String message) {
        this(code, message, 0, 0);
    }

    public CommandRefusedException(RefusalCode code, String message, long expectedEpoch, long actualEpoch) {
        super(message);
        this.code = code;
        this.expectedEpoch = expectedEpoch;
        this.actualEpoch = actualEpoch;
    }

    /** Rebuilds the exception from a refused command's result (on the side that submitted it). */
    public static CommandRefusedException of(CommandResult result) {
        if (result.getApplied()) throw new IllegalArgumentException("result was applied, not refused");
        return new CommandRefusedException(result.getCode(), result.getRefusal(), result.getExpectedEpoch(),
                result.getEpoch());
    }

    public RefusalCode code() {
        return code;
    }

    /** The epoch the command carried (0 if not an epoch refusal). */
    public long expectedEpoch() {
        return expectedEpoch;
    }

    /** The epoch the state holds (0 if not an epoch refusal). */
    public long actualEpoch() {
        return actualEpoch;
    }

    CommandResult toResult() {
        return CommandResult.newBuilder().setApplied(false).setCode(code).setRefusal(getMessage())
                .setExpectedEpoch(expectedEpoch).setEpoch(actualEpoch).build();
    }
}
