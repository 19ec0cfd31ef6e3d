package window_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

func cwEarly(overlap bool) window.CountWithinConfig {
	cfg := cwCfg(overlap)
	cfg.Early = true
	return cfg
}

// playAt is a play of (customer 1, track 1) at minute m.
func playAt(id, m int64) stream.Event {
	return play{id: id, cust: 1, track: 1, t: base + m*int64(time.Minute)}.event(id)
}

// In order, each match goes out in the Process call of its completing
// play, equal to the event-time result, and the watermark adds nothing.
func TestCountWithinEarlyInOrder(t *testing.T) {
	evs := []stream.Event{playAt(1, 0), playAt(2, 10), playAt(3, 20), playAt(4, 21), playAt(5, 60), playAt(6, 70), playAt(7, 89)}
	for _, overlap := range []bool{false, true} {
		op := must(window.NewCountWithin(cwEarly(overlap)))
		got := earlyDrive(t, op, evs, 1, time.Hour)
		want := evsOf(earlyDrive(t, must(window.NewCountWithin(cwCfg(overlap))), evs, 1, time.Hour))
		checkEarly(t, fmt.Sprint("overlap ", overlap), got, want, op.Stats(), evs)
		if n := len(want); n != map[bool]int{false: 2, true: 3}[overlap] {
			t.Fatalf("overlap %v: %d event-time results", overlap, n)
		}
	}
}

// A play that arrives after later ones and completes a match earlier in
// event time than the early one: the event-time match goes out as a
// correction at the watermark; the early result stays (its plays are
// three within 30 minutes, whatever came later).
func TestCountWithinEarlyCorrection(t *testing.T) {
	op := must(window.NewCountWithin(cwEarly(false)))
	// b, c, d arrive, then a (minute 0) completes a, b, c in event time.
	got := earlyDrive(t, op, []stream.Event{playAt(2, 10), playAt(3, 20), playAt(4, 25), playAt(1, 0)}, 1, time.Hour)
	lines := earlyLines(evsOf(got))
	want := []string{"count_within 1|1 10..25 n=3 first=10 last=25 by=4", "count_within 1|1 0..20 n=3 first=0 last=20 by=3"}
	diff(t, "results", lines, want)
	if !got[0].early || got[0].by != 2 || got[1].early {
		t.Fatalf("early result after play %d (early %v), correction early %v", got[0].by, got[0].early, got[1].early)
	}
	if st := op.Stats(); st.Early != 1 || st.Corrections != 1 || st.Confirmed != 0 || st.Emitted != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// A play that arrives after a later one and completes the match early:
// the early result's completing play is the later one, which the
// event-time decision then confirms.
func TestCountWithinEarlyConfirmedOutOfOrder(t *testing.T) {
	op := must(window.NewCountWithin(cwEarly(false)))
	got := earlyDrive(t, op, []stream.Event{playAt(1, 0), playAt(3, 20), playAt(2, 10)}, 1, time.Hour)
	if len(got) != 1 || !got[0].early || got[0].by != 2 {
		t.Fatalf("results %+v", got)
	}
	diff(t, "results", earlyLines(evsOf(got)), []string{"count_within 1|1 0..20 n=3 first=0 last=20 by=3"})
	if st := op.Stats(); st.Early != 1 || st.Confirmed != 1 || st.Corrections != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// firstMatch is, per key, the earliest completion time among results.
func firstMatch(evs []stream.Event) map[string]int64 {
	m := map[string]int64{}
	for _, ev := range evs {
		if t, ok := m[ev.Window.Key]; !ok || ev.Time < t {
			m[ev.Window.Key] = ev.Time
		}
	}
	return m
}

// On random plays delivered out of order within the lateness (with
// duplicates), in random batches: every event-time result is emitted
// (early or as a correction), none twice, and per key the earliest
// completion among the results emitted is the event-time answer's first
// match (a sorted set written with ZADD LT converges to it), on the same
// keys. In decision order, the early results are the event-time results.
func TestCountWithinEarlyProperties(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 60
	}
	for _, overlap := range []bool{false, true} {
		var corrections, confirmed, extra int64
		for seed := range uint64(seeds) {
			r := rand.New(rand.NewPCG(seed, 0xea))
			ps := randomPlays(r, 20+r.IntN(80), 3*time.Hour)
			evs := arrival(r, ps, 0.3, bound)
			batch := 1 + r.IntN(6)
			want := evsOf(earlyDrive(t, must(window.NewCountWithin(cwCfg(overlap))), evs, batch, bound))
			op := must(window.NewCountWithin(cwEarly(overlap)))
			got := earlyDrive(t, op, evs, batch, bound)
			what := fmt.Sprintf("overlap %v seed %d", overlap, seed)
			st := op.Stats()
			checkEarly(t, what, got, want, st, nil)
			gm, wm := firstMatch(evsOf(got)), firstMatch(want)
			if len(gm) != len(wm) {
				t.Fatalf("%s: keys with a result %v, in event time %v", what, gm, wm)
			}
			for k, w := range wm {
				if g, ok := gm[k]; !ok || g != w {
					t.Fatalf("%s: key %s first completion %d, in event time %d", what, k, g-base, w-base)
				}
			}
			corrections += st.Corrections
			confirmed += st.Confirmed
			extra += st.Emitted - int64(len(want))

			// The same plays in decision order.
			sorted := decisionOrder(evs)
			op = must(window.NewCountWithin(cwEarly(overlap)))
			got = earlyDrive(t, op, sorted, 1+r.IntN(3), bound)
			checkEarly(t, what+" in order", got, want, op.Stats(), sorted)
		}
		switch {
		case overlap && (corrections != 0 || extra != 0):
			// With overlap a play's result only depends on whether the plays
			// before it within 30 minutes number 2: once they have all
			// arrived, it fires early, and nothing else does.
			t.Fatalf("overlap: %d corrections, %d results beyond event time", corrections, extra)
		case !overlap && (corrections == 0 || confirmed == 0 || extra == 0):
			t.Fatalf("%d corrections, %d confirmed, %d beyond: the disorder proves nothing", corrections, confirmed, extra)
		}
		t.Logf("overlap %v: %d confirmed, %d corrections, %d early results beyond event time", overlap, confirmed, corrections, extra)
	}
}

// A snapshot taken between an early result and its event-time decision
// restores the bookkeeping: the restored operator neither emits the result
// again nor misses a correction, and its snapshot is the same bytes.
func TestCountWithinEarlySnapshot(t *testing.T) {
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 0x5a))
		ps := randomPlays(r, 60, 3*time.Hour)
		evs := arrival(r, ps, 0.3, bound)
		want := evsOf(earlyDrive(t, must(window.NewCountWithin(cwCfg(false))), evs, 4, bound))
		at := r.IntN(len(evs))
		op := must(window.NewCountWithin(cwEarly(false)))
		d := newDriver(t, op, bound)
		d.feed(evs[:at], 4)
		snap := must(op.Snapshot())
		back := must(window.NewCountWithin(cwEarly(false)))
		if err := back.Restore(snap); err != nil {
			t.Fatal(err)
		}
		if again := must(back.Snapshot()); !slices.Equal(again, snap) {
			t.Fatalf("seed %d: the restored operator's snapshot differs", seed)
		}
		d.op = back
		d.feed(evs[at:], 4)
		got := d.finish()
		checkEarly(t, fmt.Sprintf("seed %d restored after %d", seed, at), got, want, addStats(op.Stats(), back.Stats()), nil)
	}
}
