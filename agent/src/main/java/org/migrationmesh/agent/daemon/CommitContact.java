package org.migrationmesh.agent.daemon;

import org.migrationmesh.ipfloat.MajorityContact;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Majority contact as the floating-IP lease sees it: every liveness entry this agent gets
 * committed proves that a majority of the cluster heard it.
 */
final class CommitContact implements MajorityContact {
    private final List<Runnable> subscribers = new CopyOnWriteArrayList<>();

    @Override
    public AutoCloseable subscribe(Runnable onConfirmed) {
        subscribers.add(onConfirmed);
        return () -> subscribers.remove(onConfirmed);
    }

    void committed() {
        subscribers.forEach(Runnable::run);
    }
}
