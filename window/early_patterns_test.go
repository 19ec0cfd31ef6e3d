package window_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

func seqEarly(t *testing.T, cfg window.SequenceConfig) func(bool) earlyOp {
	return func(early bool) earlyOp {
		cfg := cfg
		cfg.Early = early
		return startSeq(t, cfg)
	}
}

// A then B within 10 minutes, in order: each match goes out in the call
// of its B, equal to the event-time result; the watermark adds nothing.
func TestSequenceEarlyInOrder(t *testing.T) {
	cfg := seqCfg(10*time.Minute, kinds(0), kinds(1))
	evs := []stream.Event{sevAt(1, 1, 0, 0), sevAt(2, 1, 0, 3), sevAt(3, 1, 1, 8), sevAt(4, 1, 1, 9), sevAt(5, 1, 0, 20),
		sevAt(6, 1, 1, 31), sevAt(7, 1, 0, 40), sevAt(8, 1, 1, 50)}
	fresh := seqEarly(t, cfg)
	want := evsOf(earlyDrive(t, fresh(false), evs, 1, time.Hour))
	op := fresh(true)
	checkEarly(t, "in order", earlyDrive(t, op, evs, 1, time.Hour), want, op.Stats(), evs)
	if st := op.Stats(); st.Early != 2 || st.Confirmed != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// A at 0 and 6, B at 8 arrive, then B at 5: the early match (A0, B8) is
// not the event-time one (A0, B5), which goes out as a correction; the
// event-time match (A6, B8) is confirmed by the early result of B8.
func TestSequenceEarlyCorrection(t *testing.T) {
	op := seqEarly(t, seqCfg(10*time.Minute, kinds(0), kinds(1)))(true)
	got := earlyDrive(t, op, []stream.Event{sevAt(1, 1, 0, 0), sevAt(3, 1, 0, 6), sevAt(4, 1, 1, 8), sevAt(2, 1, 1, 5)}, 1, time.Hour)
	if len(got) != 2 || !got[0].early || got[0].by != 2 || got[1].early {
		t.Fatalf("results %+v", got)
	}
	want := []string{"sequence 1 0..8 n=2 first=0 last=8 by=4 [0 1] [8 4]", "sequence 1 0..5 n=2 first=0 last=5 by=2 [0 1] [5 2]"}
	diff(t, "results", earlyLines(evsOf(got)), want)
	if st := op.Stats(); st.Early != 1 || st.Corrections != 1 || st.Confirmed != 1 || st.Emitted != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// Random sequences on random events delivered out of order (with
// duplicates, but for the cases without dedup), in random batches, one of
// three restarted from a snapshot midway: every event-time result goes out
// (early or as a correction), none twice; in decision order the early
// results are the event-time results.
func TestSequenceEarlyProperties(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 60
	}
	var sum window.Stats
	for seed := range uint64(seeds) {
		r := rand.New(rand.NewPCG(seed, 0x5e9))
		c := randomSeqCase(r)
		c.noDedup = seed%4 == 3
		es := randomSevs(r, 20+r.IntN(100), 3*time.Hour)
		dupShare := 0.3
		if c.noDedup {
			dupShare = 0 // deliveries would be distinct events, with one id
		}
		evs := sevArrival(r, es, dupShare, bound)
		snapAt := -1
		if seed%3 == 0 {
			snapAt = r.IntN(len(evs))
		}
		st := earlyRun(t, fmt.Sprintf("seed %d case %+v", seed, c), seqEarly(t, c.config()), evs, 1+r.IntN(6), bound, snapAt, !c.noDedup)
		sum = addStats(sum, st)
	}
	if sum.Corrections == 0 || sum.Confirmed == 0 || sum.Emitted == sum.Confirmed+sum.Corrections {
		t.Fatalf("the disorder proves little: %+v", sum)
	}
	t.Logf("%d early (%d confirmed), %d corrections", sum.Early, sum.Confirmed, sum.Corrections)
}
