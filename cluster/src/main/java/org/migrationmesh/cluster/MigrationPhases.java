package org.migrationmesh.cluster;

import org.migrationmesh.proto.cluster.MigrationPhase;

import java.util.EnumSet;
import java.util.Set;

/**
 * The migration transaction's phase graph:
 * {@code PREPARE -> COPY (one entry per round, repeatable) -> FREEZE -> RESTORE -> COMMIT},
 * with COPY optional (stop-and-copy goes PREPARE -> FREEZE), and ABORT from any phase before COMMIT.
 */
public final class MigrationPhases {
    private MigrationPhases() {}

    /** Phases reachable by an {@code AdvanceMigration} from {@code from}. ABORT is a command of its own. */
    public static Set<MigrationPhase> next(MigrationPhase from) {
        return switch (from) {
            case PREPARE -> EnumSet.of(MigrationPhase.COPY, MigrationPhase.FREEZE);
            case COPY -> EnumSet.of(MigrationPhase.COPY, MigrationPhase.FREEZE);
            case FREEZE -> EnumSet.of(MigrationPhase.RESTORE);
            case RESTORE -> EnumSet.of(MigrationPhase.COMMIT);
            default -> EnumSet.noneOf(MigrationPhase.class);
        };
    }

    public static boolean canAdvance(MigrationPhase from, MigrationPhase to) {
        return next(from).contains(to);
    }

    /** Whether a migration in this phase may still be aborted. */
    public static boolean canAbort(MigrationPhase phase) {
        return phase == MigrationPhase.PREPARE || phase == MigrationPhase.COPY
                || phase == MigrationPhase.FREEZE || phase == MigrationPhase.RESTORE;
    }

    public static boolean isTerminal(MigrationPhase phase) {
        return phase == MigrationPhase.COMMIT || phase == MigrationPhase.ABORT;
    }
}
