package org.migrationmesh.transfer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Planning the range edits that turn a live file into a dump's pages file. */
class LiveFileEditsTest {
    /** Live pages as a dump of {@code n} pages in the same order would find them: page i at i. */
    private static long[] same(int n) {
        long[] p = new long[n];
        for (int i = 0; i < n; i++) p[i] = i;
        return p;
    }

    /** The file after the plan's edits, as the live page each position holds (-1: a hole). */
    private static List<Long> edited(long livePages, LiveFileEdits.Plan plan) {
        List<Long> file = new ArrayList<>();
        for (long q = 0; q < livePages; q++) file.add(q);
        for (LiveFileEdits.Edit e : plan.edits()) {
            assertThat(e.at()).as("an edit within the file").isLessThan(file.size());
            if (e.insert()) {
                for (long k = 0; k < e.pages(); k++) file.add((int) e.at(), -1L);
            } else {
                assertThat(e.at() - e.pages()).as("a collapse short of the file's end").isLessThan(file.size());
                file.subList((int) e.at(), (int) (e.at() - e.pages())).clear();
            }
        }
        return file;
    }

    /** Every page the plan calls in place lies at its index after the edits, and every held page is in place or moved. */
    private static void assertLaysOut(long[] livePage, long livePages, LiveFileEdits.Plan plan) {
        List<Long> file = edited(livePages, plan);
        for (int i = plan.inPlace().nextSetBit(0); i >= 0; i = plan.inPlace().nextSetBit(i + 1)) {
            assertThat(file.get(i)).as("page %d after the edits", i).isEqualTo(livePage[i]);
        }
        int held = (int) Arrays.stream(livePage).filter(q -> q >= 0).count();
        assertThat(plan.inPlace().cardinality() + plan.misplaced().length).as("held pages placed or moved").isEqualTo(held);
        for (int k = 0; k < plan.misplaced().length; k++) {
            assertThat(plan.inPlace().get(plan.misplaced()[k])).isFalse();
            assertThat(plan.misplacedFrom()[k]).isEqualTo(livePage[plan.misplaced()[k]]);
        }
    }

    @Test
    void aLiveFileInTheDumpsOrderNeedsNoEdit() {
        long[] live = same(5120);
        LiveFileEdits.Plan plan = LiveFileEdits.plan(live);
        assertThat(plan.edits()).isEmpty();
        assertThat(plan.inPlace().cardinality()).isEqualTo(5120);
        assertThat(plan.misplaced()).isEmpty();
    }

    @Test
    void aPageFreedBeforeTheFreezeIsCollapsedOutAndEveryPageAfterItStaysHeld() {
        // As measured in the tour: the dump lacks the live page 241, so 4,879 pages lie one page late.
        long[] live = new long[5119];
        for (int i = 0; i < live.length; i++) live[i] = i < 241 ? i : i + 1;
        LiveFileEdits.Plan plan = LiveFileEdits.plan(live);
        assertThat(plan.edits()).containsExactly(new LiveFileEdits.Edit(241, -1));
        assertThat(plan.inPlace().cardinality()).isEqualTo(5119);
        assertLaysOut(live, 5120, plan);
    }

    @Test
    void aPageMappedBeforeTheFreezeGetsAHoleInserted() {
        long[] live = new long[5121];
        for (int i = 0; i < live.length; i++) live[i] = i < 240 ? i : i == 240 ? -1 : i - 1;
        LiveFileEdits.Plan plan = LiveFileEdits.plan(live);
        assertThat(plan.edits()).containsExactly(new LiveFileEdits.Edit(240, 1));
        assertThat(plan.inPlace().cardinality()).isEqualTo(5120);
        assertLaysOut(live, 5120, plan);
    }

    @Test
    void aFewPagesOutOfOrderAreMovedNotEdited() {
        long[] live = same(200);
        live[50] = 51;
        live[51] = 50;
        LiveFileEdits.Plan plan = LiveFileEdits.plan(live);
        assertThat(plan.edits()).isEmpty();
        assertThat(plan.misplaced()).containsExactly(50, 51);
        assertLaysOut(live, 200, plan);
    }

    @Test
    void aStretchLyingBeforeWhatIsLaidOutAlreadyIsMoved() {
        // Dump pages 0..99 lie at live 100..199 and 100..199 at live 0..99: the first stretch is laid out by
        // collapsing live 0..99 away; the second then lies before it and is moved.
        long[] live = new long[200];
        for (int i = 0; i < 200; i++) live[i] = i < 100 ? i + 100 : i - 100;
        LiveFileEdits.Plan plan = LiveFileEdits.plan(live);
        assertThat(plan.edits()).containsExactly(new LiveFileEdits.Edit(0, -100));
        assertThat(plan.misplaced()).hasSize(100);
        assertLaysOut(live, 201, plan);
    }

    @Test
    void withTooManyEditsOnlyPagesAtTheirIndexAreInPlace() {
        long[] shifting = new long[64 * (LiveFileEdits.MAX_EDITS + 2)];
        for (int i = 0; i < shifting.length; i++) shifting[i] = i + i / 64; // a page freed every 64
        LiveFileEdits.Plan many = LiveFileEdits.plan(shifting);
        assertThat(many.edits()).isEmpty();
        assertThat(many.inPlace().cardinality()).as("the first 64, before the first page freed").isEqualTo(64);
        assertThat(many.misplaced()).hasSize(shifting.length - 64);
        assertLaysOut(shifting, shifting.length + shifting.length / 64, many);
    }

    @Test
    void randomChangesBetweenRoundAndDumpAreLaidOutOrMovedNeverLost() {
        Random random = new Random(42);
        for (int run = 0; run < 200; run++) {
            // A live file of n pages; the dump frees some and maps some new ones, and a few pages swap places.
            int n = 200 + random.nextInt(3000);
            List<Long> dump = new ArrayList<>();
            for (long q = 0; q < n; q++) {
                int r = random.nextInt(1000);
                if (r < 2) continue; // freed
                if (r < 4) dump.add(-1L); // mapped new, not held
                dump.add(q);
            }
            for (int k = random.nextInt(3); k > 0; k--) {
                int a = random.nextInt(dump.size());
                int b = random.nextInt(dump.size());
                Long t = dump.get(a);
                dump.set(a, dump.get(b));
                dump.set(b, t);
            }
            long[] live = dump.stream().mapToLong(Long::longValue).toArray();
            LiveFileEdits.Plan plan = LiveFileEdits.plan(live);
            assertThat(plan.edits().size()).isLessThanOrEqualTo(LiveFileEdits.MAX_EDITS);
            assertLaysOut(live, n, plan);
        }
    }
}
