package org.migrationmesh.agent.daemon;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.migrationmesh.cluster.ClusterUnavailableException;
import org.migrationmesh.cluster.CommandRefusedException;

/**
 * The one place that turns cluster failures into gRPC statuses. Descriptions name the agent that
 * answered, the subject (container, migration, member) and what to do.
 */
final class ControlErrors {
    private ControlErrors() {}

    static StatusRuntimeException toStatus(String agentId, Throwable error, ControlDirectory directory) {
        if (error instanceof StatusRuntimeException sre) return sre;
        if (error instanceof CommandRefusedException refused) {
            Status status = switch (refused.code()) {
                case NOT_FOUND -> Status.NOT_FOUND;
                case ALREADY_EXISTS -> Status.ALREADY_EXISTS;
                case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
                default -> Status.FAILED_PRECONDITION;
            };
            return status.withDescription(refused.getMessage() + " [refusal=" + refused.code() + ", agent=" + agentId + "]")
                    .withCause(refused).asRuntimeException();
        }
        if (error instanceof ClusterUnavailableException unavailable) {
            String hint = unavailable.leaderHint().isEmpty() ? ""
                    : " Leader hint: " + unavailable.leaderHint() + directory.controlAddressOf(unavailable.leaderHint())
                            .map(a -> " at " + a).orElse("") + ".";
            return Status.UNAVAILABLE.withDescription(unavailable.getMessage() + "." + hint)
                    .withCause(unavailable).asRuntimeException();
        }
        if (error instanceof IllegalArgumentException bad) {
            return Status.INVALID_ARGUMENT.withDescription(bad.getMessage() + " [agent=" + agentId + "]")
                    .withCause(bad).asRuntimeException();
        }
        return Status.INTERNAL.withDescription("agent " + agentId + " failed: " + error)
                .withCause(error).asRuntimeException();
    }
}
