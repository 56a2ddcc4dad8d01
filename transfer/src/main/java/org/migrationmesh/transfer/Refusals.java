package org.migrationmesh.transfer;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import java.util.Optional;

/** Carries a {@link TransferRefusedException}'s reason and file across gRPC in trailers. */
final class Refusals {
    static final Metadata.Key<String> REASON = Metadata.Key.of("mm-transfer-refusal", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> FILE = Metadata.Key.of("mm-transfer-file", Metadata.ASCII_STRING_MARSHALLER);

    private Refusals() {}

    static StatusRuntimeException toStatus(TransferRefusedException e) {
        Metadata trailers = new Metadata();
        trailers.put(REASON, e.reason().name());
        if (e.file() != null) trailers.put(FILE, e.file());
        Status status = switch (e.reason()) {
            case NO_SESSION, NOT_PLANNED, HELD_DIGESTS_DIFFER -> Status.FAILED_PRECONDITION;
            case CORRUPT_CHUNK, FILE_DIGEST_MISMATCH -> Status.DATA_LOSS;
            default -> Status.INVALID_ARGUMENT;
        };
        return status.withDescription(e.getMessage()).asRuntimeException(trailers);
    }

    /** The refusal a status carries, if it is one (else it is a transport failure). */
    static Optional<TransferRefusedException> fromStatus(String migrationId, int round, Throwable t) {
        Metadata trailers = Status.trailersFromThrowable(t);
        if (trailers == null || trailers.get(REASON) == null) return Optional.empty();
        TransferRefusedException.Reason reason = TransferRefusedException.Reason.valueOf(trailers.get(REASON));
        String detail = Status.fromThrowable(t).getDescription();
        return Optional.of(new TransferRefusedException(migrationId, round, reason, trailers.get(FILE),
                "refused by receiver (" + detail + ")", t));
    }
}
