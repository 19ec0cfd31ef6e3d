package window_test

import (
	"fmt"
	"maps"
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

func dcEarly(cfg window.DistinctCountConfig) func(bool) earlyOp {
	return func(early bool) earlyOp {
		cfg := cfg
		cfg.Early = early
		return must(window.NewDistinctCount(cfg))
	}
}

// dcAt is an event of user 1 with value v at minute m.
func dcAt(id int64, v string, m int64) stream.Event {
	return dcEv{id: id, user: 1, val: stream.String(v), t: base + m*int64(time.Minute)}.event(false)
}

// Three distinct values within 10 minutes, in order: each match goes out
// in the call of the event that makes it, equal to the event-time result.
func TestDistinctCountEarlyInOrder(t *testing.T) {
	evs := []stream.Event{dcAt(1, "a", 0), dcAt(2, "a", 2), dcAt(3, "b", 4), dcAt(4, "c", 6), dcAt(5, "d", 7), dcAt(6, "e", 8),
		dcAt(7, "e", 9), dcAt(8, "a", 9), dcAt(9, "x", 30)}
	fresh := dcEarly(dcConfig([]string{"user"}, 3, 10*time.Minute, 0))
	want := evsOf(earlyDrive(t, fresh(false), evs, 1, time.Hour))
	diff(t, "event-time results", earlyLines(want), []string{"distinct_count 1 2..6 n=3 first=2 last=6 by=4",
		"distinct_count 1 7..9 n=3 first=7 last=9 by=8"})
	op := fresh(true)
	checkEarly(t, "in order", earlyDrive(t, op, evs, 1, time.Hour), want, op.Stats(), evs)
}

// b, c, d arrive, then a (earlier): the early match ends at d, the
// event-time one at c (a correction).
func TestDistinctCountEarlyCorrection(t *testing.T) {
	op := dcEarly(dcConfig([]string{"user"}, 3, 10*time.Minute, 0))(true)
	got := earlyDrive(t, op, []stream.Event{dcAt(2, "b", 4), dcAt(3, "c", 6), dcAt(4, "d", 8), dcAt(1, "a", 1)}, 1, time.Hour)
	if len(got) != 2 || !got[0].early || got[0].by != 2 || got[1].early {
		t.Fatalf("results %+v", got)
	}
	diff(t, "results", earlyLines(evsOf(got)), []string{"distinct_count 1 4..8 n=3 first=4 last=8 by=4",
		"distinct_count 1 1..6 n=3 first=1 last=6 by=3"})
	if st := op.Stats(); st.Early != 1 || st.Corrections != 1 || st.Confirmed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Random distinct counts (keys of four shapes, values of one or many
// kinds, null among them) on events delivered out of order within the
// bound or the allowed lateness, with duplicates, in random batches, one
// of three restarted from a snapshot midway: every event-time result goes
// out, none twice; in decision order the early results are the event-time
// results.
func TestDistinctCountEarlyProperties(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 60
	}
	var sum window.Stats
	for seed := range uint64(seeds) {
		r := rand.New(rand.NewPCG(seed, 0xdce))
		v := abVariants[seed%4]
		count, within := 1+r.IntN(5), time.Duration(1+r.IntN(40))*time.Minute
		lateness := time.Duration(0)
		if seed%5 == 0 {
			lateness = 15 * time.Minute
		}
		es := dcInput(r, 20+r.IntN(100), 3*time.Hour, dcDomains[(seed/4)%3])
		evs := adArrival(r, dcEvents(es, v.strs), 0.3, bound+lateness)
		snapAt := -1
		if seed%3 == 0 {
			snapAt = r.IntN(len(evs))
		}
		what := fmt.Sprintf("seed %d variant %v count %d within %v lateness %v", seed, v, count, within, lateness)
		sum = addStats(sum, earlyRun(t, what, dcEarly(dcConfig(v.keyBy, count, within, lateness)), evs, 1+r.IntN(6), bound, snapAt, true))
	}
	if sum.Corrections == 0 || sum.Confirmed == 0 || sum.Emitted == sum.Confirmed+sum.Corrections {
		t.Fatalf("the disorder proves little: %+v", sum)
	}
	t.Logf("%d early (%d confirmed), %d corrections", sum.Early, sum.Confirmed, sum.Corrections)
}

func nvEarly(within time.Duration) func(bool) earlyOp {
	return func(early bool) earlyOp {
		return must(window.NewNewValue(window.NewValueConfig{PatternConfig: window.PatternConfig{Name: "new_device",
			KeyBy: []string{"user"}, Within: within, Dedup: "id"}, Field: "device", Early: early}))
	}
}

// nvAt is a login of user 1 from device d at minute m.
func nvAt(id, d, m int64) stream.Event {
	return nvLogin{id: id, user: 1, device: d, t: base + m*int64(time.Minute)}.event(false)
}

// In order, each new device goes out in the call of its login, equal to
// the event-time result.
func TestNewValueEarlyInOrder(t *testing.T) {
	evs := []stream.Event{nvAt(1, 1, 0), nvAt(2, 1, 5), nvAt(3, 2, 6), nvAt(4, 1, 20), nvAt(5, 2, 16), nvAt(6, 2, 17)}
	evs = decisionOrder(evs)
	fresh := nvEarly(10 * time.Minute)
	want := evsOf(earlyDrive(t, fresh(false), evs, 1, time.Hour))
	if len(want) != 3 {
		t.Fatalf("event-time results %v", earlyLines(want))
	}
	op := fresh(true)
	checkEarly(t, "in order", earlyDrive(t, op, evs, 1, time.Hour), want, op.Stats(), evs)
}

// A login from device 1 at minute 10 arrives, then one at minute 5: both
// are new on arrival and go out early; in event time only minute 5 is
// (confirmed), minute 10 was seen 5 minutes before it: an early result
// the event-time answer does not have, not emitted again, not retracted.
func TestNewValueEarlyDisorder(t *testing.T) {
	op := nvEarly(10 * time.Minute)(true)
	got := earlyDrive(t, op, []stream.Event{nvAt(2, 1, 10), nvAt(1, 1, 5)}, 1, time.Hour)
	diff(t, "results", earlyLines(evsOf(got)), []string{"new_value 1 10..10 n=1 first=10 last=10 by=2",
		"new_value 1 5..5 n=1 first=5 last=5 by=1"})
	if !got[0].early || !got[1].early {
		t.Fatalf("results %+v", got)
	}
	if st := op.Stats(); st.Early != 2 || st.Confirmed != 1 || st.Corrections != 0 || st.Emitted != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// Random logins delivered out of order with redeliveries, in random
// batches, one of three restarted from a snapshot midway: every event-time
// result goes out early (an event new in event time had nothing before it
// in Within when it arrived either), none twice; in decision order the
// early results are the event-time results.
func TestNewValueEarlyProperties(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 60
	}
	var sum window.Stats
	for seed := range uint64(seeds) {
		r := rand.New(rand.NewPCG(seed, 0x4ee))
		within := time.Duration(1+r.IntN(12)) * time.Minute
		var evs []stream.Event
		for _, l := range nvInput(r, 20+r.IntN(150), int64(bound)) {
			evs = append(evs, l.event(seed%2 == 1))
		}
		snapAt := -1
		if seed%3 == 0 {
			snapAt = r.IntN(len(evs))
		}
		sum = addStats(sum, earlyRun(t, fmt.Sprintf("seed %d within %v", seed, within), nvEarly(within), evs, 1+r.IntN(6), bound, snapAt, true))
	}
	if sum.Corrections != 0 || sum.Confirmed == 0 || sum.Emitted == sum.Confirmed {
		t.Fatalf("counters %+v: want no correction, some confirmed, some early results beyond event time", sum)
	}
	t.Logf("%d early (%d confirmed), %d corrections", sum.Early, sum.Confirmed, sum.Corrections)
}

// Through a stream.Pipeline (its watermark, lateness and batches) whose
// operator restarts from snapshots every few calls: every event-time
// result's completing event is emitted once; count-within's first
// completion per key and its keys are the event-time answer's.
func TestEarlyPipeline(t *testing.T) {
	restarts := 0
	for seed := range uint64(8) {
		r := rand.New(rand.NewPCG(seed, 0xe1))
		lateness := time.Duration(seed%2) * 10 * time.Minute
		evs := adArrival(r, dcEvents(dcInput(r, 300, 6*time.Hour, dcDomains[seed%3]), seed%4 >= 2), 0.2, bound+lateness)
		for _, kind := range []string{"count_within", "distinct_count"} {
			fresh := func(early bool) func() adOp {
				return func() adOp {
					if kind == "distinct_count" {
						cfg := dcConfig([]string{"user"}, 3, 20*time.Minute, 0)
						cfg.Early = early
						return must(window.NewDistinctCount(cfg))
					}
					return must(window.NewCountWithin(window.CountWithinConfig{Name: "c", KeyBy: []string{"user"}, Count: 3,
						Within: 20 * time.Minute, Dedup: "id", Early: early}))
				}
			}
			batch, every := 1+r.IntN(9), 2+r.IntN(4)
			want, _, _ := adPipeline(t, fresh(false), evs, bound, lateness, batch, every)
			got, late, rs := adPipeline(t, fresh(true), evs, bound, lateness, batch, every)
			what := fmt.Sprintf("%s seed %d", kind, seed)
			if len(late) != 0 || len(want) == 0 {
				t.Fatalf("%s: %d late, %d event-time results", what, len(late), len(want))
			}
			restarts += rs.restarts
			seen := map[string]bool{}
			for _, ev := range got {
				if seen[completing(&ev)] {
					t.Fatalf("%s: %s twice", what, completing(&ev))
				}
				seen[completing(&ev)] = true
			}
			for _, ev := range want {
				if !seen[completing(&ev)] {
					t.Fatalf("%s: event-time result %s missing", what, completing(&ev))
				}
			}
			if kind == "count_within" && !maps.Equal(firstMatch(got), firstMatch(want)) {
				t.Fatalf("%s: first completions %v, in event time %v", what, firstMatch(got), firstMatch(want))
			}
		}
	}
	if restarts == 0 {
		t.Fatal("no restart")
	}
}
