package org.migrationmesh.transfer;

/** What a pages chunk says about each of its pages (values of {@code PageOp} in transfer.proto). */
final class PageOps {
    static final byte DATA = 0;
    static final byte ZERO = 1;
    static final byte HELD = 2;
    static final byte DUP = 3;

    private PageOps() {}
}
