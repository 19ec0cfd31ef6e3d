package window_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// Tests of Shed (stream.Shedder, the pipeline's memory budget) on every
// operator: what the next call drops, what it emits, how it counts and
// logs, and that a shed state snapshots and restores.

var shSchema = stream.MustSchema("shed", stream.Field{Name: "id", Kind: stream.KindInt},
	stream.Field{Name: "user", Kind: stream.KindInt}, stream.Field{Name: "val", Kind: stream.KindInt},
	stream.Field{Name: "kind", Kind: stream.KindInt})

// shEv is event id of user at minute m (from base), with a value and a kind.
func shEv(id, user, val, kind int64, m time.Duration) stream.Event {
	return stream.Event{Key: fmt.Sprint(user), Time: base + int64(m), Pos: stream.Position{Source: "in", Offset: id},
		Schema: shSchema, Fields: []stream.Value{stream.Int(id), stream.Int(user), stream.Int(val), stream.Int(kind)}}
}

func mn(m int64) int64 { return base + m*int64(time.Minute) }

func shKind(k int64) window.Predicate {
	return func(ev *stream.Event) (bool, error) { return ev.Get("kind").Int() == k, nil }
}

// shedOp is what the runner sees of an operator that sheds.
type shedOp interface {
	stream.Operator
	stream.Snapshotter
	stream.Starter
	stream.Shedder
	Stats() window.Stats
}

func shPattern() window.PatternConfig {
	return window.PatternConfig{Name: "p", KeyBy: []string{"user"}, Within: time.Hour, Dedup: "id"}
}

// shOps makes every operator of the package, keyed by user where keyed,
// with a Within of an hour: the pattern operators keep a user's state for
// the length of these tests.
var shOps = map[string]func() shedOp{
	"count_within": func() shedOp {
		return must(window.NewCountWithin(window.CountWithinConfig{Name: "p", KeyBy: []string{"user"}, Count: 2,
			Within: time.Hour, Dedup: "id"}))
	},
	"tumbling": func() shedOp {
		return must(window.NewTumbling(window.TumblingConfig{WindowConfig: window.WindowConfig{Name: "w",
			KeyBy: []string{"user"}, Dedup: "id", AllowedLateness: 90 * time.Minute}, Size: time.Hour}))
	},
	"sliding": func() shedOp {
		return must(window.NewSliding(window.SlidingConfig{WindowConfig: window.WindowConfig{Name: "w",
			KeyBy: []string{"user"}, Dedup: "id"}, Size: time.Hour, Slide: 30 * time.Minute}))
	},
	"session": func() shedOp {
		return must(window.NewSessions(window.SessionConfig{WindowConfig: window.WindowConfig{Name: "w",
			KeyBy: []string{"user"}}, Gap: 10 * time.Minute}))
	},
	"order": func() shedOp { return must(window.NewOrder(window.OrderConfig{Dedup: "id"})) },
	"dedup": func() shedOp { return must(window.NewDedup(window.DedupConfig{Field: "id"})) },
	"new_value": func() shedOp {
		return must(window.NewNewValue(window.NewValueConfig{PatternConfig: shPattern(), Field: "val"}))
	},
	"distinct_count": func() shedOp {
		return must(window.NewDistinctCount(window.DistinctCountConfig{PatternConfig: shPattern(), Field: "val", Count: 2}))
	},
	"sequence": func() shedOp {
		return must(window.NewSequence(window.SequenceConfig{PatternConfig: shPattern(), Steps: []window.Predicate{shKind(0), shKind(1)}}))
	},
	"absence": func() shedOp {
		return must(window.NewAbsence(window.AbsenceConfig{PatternConfig: shPattern(), Start: shKind(1), End: shKind(2)}))
	},
}

func shNames() []string {
	names := make([]string, 0, len(shOps))
	for n := range shOps {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// shRig drives one operator, started with a logger on a manual clock.
type shRig struct {
	t    *testing.T
	op   shedOp
	logs *bytes.Buffer
}

func newShRig(t *testing.T, op shedOp) *shRig {
	t.Helper()
	r := &shRig{t: t, op: op, logs: &bytes.Buffer{}}
	env := stream.Env{Logger: slog.New(slog.NewTextHandler(r.logs, nil)), Schema: shSchema,
		Clock: stream.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	if err := op.Start(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	return r
}

func shLine(ev stream.Event) string {
	w := ev.Window
	if w == nil {
		return fmt.Sprintf("id %d at %v", ev.Get("id").Int(), time.Duration(ev.Time-base))
	}
	s := fmt.Sprintf("%s %s [%v, %v] n=%d", w.Kind, w.Key, time.Duration(w.Start-base), time.Duration(w.End-base), w.Count)
	if w.Update {
		s += " update"
	}
	return s
}

func (r *shRig) lines(out *stream.Emitter) []string {
	var ls []string
	for _, ev := range out.Events() {
		ls = append(ls, shLine(ev))
	}
	return ls
}

func (r *shRig) process(evs ...stream.Event) []string {
	r.t.Helper()
	var out stream.Emitter
	if err := r.op.Process(context.Background(), evs, &out); err != nil {
		r.t.Fatal(err)
	}
	return r.lines(&out)
}

func (r *shRig) advance(wm int64) []string {
	r.t.Helper()
	var out stream.Emitter
	if err := r.op.Advance(context.Background(), wm, &out); err != nil {
		r.t.Fatal(err)
	}
	return r.lines(&out)
}

func (r *shRig) snapshot() []byte {
	r.t.Helper()
	b, err := r.op.Snapshot()
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// stats checks the counters that matter here.
func (r *shRig) stats(what string, evictions, active, pending int64) {
	r.t.Helper()
	if st := r.op.Stats(); st.Evictions != evictions || st.ActiveKeys != active || st.Pending != pending {
		r.t.Fatalf("%s: stats %+v, want Evictions %d, ActiveKeys %d, Pending %d", what, st, evictions, active, pending)
	}
}

// logged checks that the shedding was logged at Warn, with the total.
func (r *shRig) logged(total int64) {
	r.t.Helper()
	if s := r.logs.String(); !strings.Contains(s, "level=WARN") || !strings.Contains(s, "memory budget") ||
		!strings.Contains(s, fmt.Sprintf("evictions_total=%d", total)) {
		r.t.Fatalf("log:\n%s", s)
	}
}

// Count-within: the keys whose last event is oldest go, with their
// partial counts: their next event does not complete a match.
func TestShedCountWithinKeys(t *testing.T) {
	r := newShRig(t, shOps["count_within"]())
	for u := int64(1); u <= 4; u++ {
		r.process(shEv(u, u, 0, 0, time.Duration(u)*time.Minute))
	}
	diff(t, "before", r.advance(mn(10)), nil)
	r.stats("before", 0, 4, 0)
	r.op.Shed(0.5)
	r.stats("Shed alone changes nothing", 0, 4, 0)
	diff(t, "shed", r.advance(mn(10)), nil)
	r.stats("shed", 2, 2, 0)
	r.logged(2)
	var evs []stream.Event
	for u := int64(1); u <= 4; u++ {
		evs = append(evs, shEv(10+u, u, 0, 0, 20*time.Minute))
	}
	r.process(evs...)
	diff(t, "after", r.advance(mn(30)), []string{"count_within 3 [3m0s, 20m0s] n=2", "count_within 4 [4m0s, 20m0s] n=2"})
}

// Time windows: the windows with the earliest pending action go first: a
// window not fired yet fires early with its result, a fired one kept for
// its lateness is dropped silently; the earliest dedup ids are forgotten.
func TestShedTumbling(t *testing.T) {
	r := newShRig(t, shOps["tumbling"]()) // lateness 90m
	for u := int64(1); u <= 4; u++ {
		r.process(shEv(u, u, 0, 0, time.Duration(u-1)*time.Hour+time.Minute))
	}
	diff(t, "fires", r.advance(mn(60)), []string{"tumbling 1 [0s, 1h0m0s] n=1"})
	r.stats("before", 0, 4, 0)
	// Pending actions: purge user 1's window at 2h30, fire the others at
	// 2h, 3h and 4h. Half: user 2's window fires early, user 1's goes.
	r.op.Shed(0.5)
	diff(t, "shed", r.advance(mn(60)), []string{"tumbling 2 [1h0m0s, 2h0m0s] n=1"})
	r.stats("shed: 2 windows and 2 of 4 ids", 4, 2, 0)
	r.logged(4)
	// Id 1 was forgotten and its window dropped: a re-delivery counts
	// again, in a new window, not an update. Id 3 is still known.
	diff(t, "re-delivered", r.process(shEv(1, 1, 0, 0, time.Minute), shEv(3, 3, 0, 0, 2*time.Hour+time.Minute)),
		[]string{"tumbling 1 [0s, 1h0m0s] n=1"})
	if st := r.op.Stats(); st.Duplicates != 1 {
		t.Fatalf("stats %+v", st)
	}
	diff(t, "end", r.advance(stream.MaxWatermark), []string{"tumbling 3 [2h0m0s, 3h0m0s] n=1", "tumbling 4 [3h0m0s, 4h0m0s] n=1"})
}

// Sliding windows: an event's windows are separate windows; the ones that
// end first fire early.
func TestShedSliding(t *testing.T) {
	r := newShRig(t, shOps["sliding"]()) // 1h every 30m
	r.process(shEv(1, 1, 0, 0, 40*time.Minute), shEv(2, 2, 0, 0, 100*time.Minute))
	r.stats("before", 0, 2, 0) // windows [0,1h) [30m,1h30) of user 1, [1h,2h) [1h30,2h30) of user 2
	r.op.Shed(0.5)
	diff(t, "shed", r.process(), []string{"sliding 1 [0s, 1h0m0s] n=1", "sliding 1 [30m0s, 1h30m0s] n=1"})
	r.stats("shed: 2 windows, 1 of 2 ids", 3, 1, 0)
	diff(t, "end", r.advance(stream.MaxWatermark), []string{"sliding 2 [1h0m0s, 2h0m0s] n=1", "sliding 2 [1h30m0s, 2h30m0s] n=1"})
}

// Sessions: the sessions that end first fire early; a later event of the
// key starts a new session.
func TestShedSessions(t *testing.T) {
	r := newShRig(t, shOps["session"]()) // gap 10m, no dedup
	for u := int64(1); u <= 4; u++ {
		r.process(shEv(u, u, 0, 0, time.Duration(u-1)*30*time.Minute))
	}
	r.op.Shed(0.5)
	diff(t, "shed", r.advance(base), []string{"session 1 [0s, 10m0s] n=1", "session 2 [30m0s, 40m0s] n=1"})
	r.stats("shed", 2, 2, 0)
	r.logged(2)
	r.process(shEv(5, 2, 0, 0, 35*time.Minute))
	diff(t, "end", r.advance(stream.MaxWatermark), []string{"session 2 [35m0s, 45m0s] n=1",
		"session 3 [1h0m0s, 1h10m0s] n=1", "session 4 [1h30m0s, 1h40m0s] n=1"})
}

// Order: the oldest buffered events are released early, in order; events
// older than those are late from then on.
func TestShedOrder(t *testing.T) {
	r := newShRig(t, shOps["order"]())
	r.process(shEv(4, 4, 0, 0, 4*time.Minute), shEv(2, 2, 0, 0, 2*time.Minute), shEv(3, 3, 0, 0, 3*time.Minute), shEv(1, 1, 0, 0, time.Minute))
	r.stats("before", 0, 0, 4)
	r.op.Shed(0.5)
	diff(t, "shed", r.process(shEv(5, 5, 0, 0, 2*time.Minute), shEv(6, 6, 0, 0, 3*time.Minute)),
		[]string{"id 1 at 1m0s", "id 2 at 2m0s"})
	r.stats("shed", 2, 0, 3)
	r.logged(2)
	if st := r.op.Stats(); st.Late != 1 {
		t.Fatalf("the event at 2m is late once 2m went out: %+v", st)
	}
	diff(t, "end", r.advance(stream.MaxWatermark), []string{"id 3 at 3m0s", "id 6 at 3m0s", "id 4 at 4m0s"})
}

// Dedup: the earliest arrivals are forgotten; their re-deliveries pass.
func TestShedDedup(t *testing.T) {
	r := newShRig(t, shOps["dedup"]())
	r.process(shEv(1, 1, 0, 0, time.Minute), shEv(2, 2, 0, 0, 2*time.Minute), shEv(3, 3, 0, 0, 3*time.Minute), shEv(4, 4, 0, 0, 4*time.Minute))
	r.op.Shed(0.5)
	diff(t, "shed", r.process(shEv(1, 1, 0, 0, time.Minute), shEv(3, 3, 0, 0, 3*time.Minute), shEv(2, 2, 0, 0, 2*time.Minute)),
		[]string{"id 1 at 1m0s", "id 2 at 2m0s"})
	r.stats("shed", 2, 4, 0)
	r.logged(2)
}

// The patterns: the keys whose state is oldest go, with it.
func TestShedPatternKeys(t *testing.T) {
	for _, tc := range []struct {
		name        string
		val, kind   int64    // of the first event of each user
		first       []string // results of the first events
		val2, kind2 int64    // of each user's second event, at 20m
		after       []string // results of the second events, then the final watermark
	}{
		// The values of users 1 and 2 are new again.
		{"new_value", 7, 0, []string{"new_value 1 [1m0s, 1m0s] n=1", "new_value 2 [2m0s, 2m0s] n=1",
			"new_value 3 [3m0s, 3m0s] n=1", "new_value 4 [4m0s, 4m0s] n=1"},
			7, 0, []string{"new_value 1 [20m0s, 20m0s] n=1", "new_value 2 [20m0s, 20m0s] n=1"}},
		// Users 1 and 2 lost the value they had: one value is not two.
		{"distinct_count", 1, 0, nil, 2, 0, []string{"distinct_count 3 [3m0s, 20m0s] n=2", "distinct_count 4 [4m0s, 20m0s] n=2"}},
		// Users 1 and 2 lost their candidate: the second step completes
		// nothing.
		{"sequence", 0, 0, nil, 0, 1, []string{"sequence 3 [3m0s, 20m0s] n=2", "sequence 4 [4m0s, 20m0s] n=2"}},
		// The starts of users 1 and 2 never fire.
		{"absence", 0, 1, nil, 0, 0, []string{"absence 3 [3m0s, 1h3m0s] n=1", "absence 4 [4m0s, 1h4m0s] n=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newShRig(t, shOps[tc.name]())
			var evs []stream.Event
			for u := int64(1); u <= 4; u++ {
				evs = append(evs, shEv(u, u, tc.val, tc.kind, time.Duration(u)*time.Minute))
			}
			r.process(evs...)
			diff(t, "first", r.advance(mn(10)), tc.first)
			r.stats("before", 0, 4, 0)
			r.op.Shed(0.5)
			r.stats("Shed alone changes nothing", 0, 4, 0)
			diff(t, "shed", r.advance(mn(10)), nil)
			r.stats("shed", 2, 2, 0)
			r.logged(2)
			evs = evs[:0]
			for u := int64(1); u <= 4; u++ {
				evs = append(evs, shEv(10+u, u, tc.val2, tc.kind2, 20*time.Minute))
			}
			got := r.process(evs...)
			got = append(got, r.advance(stream.MaxWatermark)...)
			diff(t, "after", got, tc.after)
		})
	}
}

// The patterns' and count-within's buffers: the oldest events are decided
// early (what they complete goes out at once), events older than those are
// late from then on; then the keys the operator holds are shed.
func TestShedPatternPending(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kind  int64    // of every event
		shed  []string // results of the call that sheds
		after []string // at the final watermark
	}{
		{"count_within", 0, nil, nil},
		{"new_value", 0, []string{"new_value 1 [1m0s, 1m0s] n=1", "new_value 2 [2m0s, 2m0s] n=1"},
			[]string{"new_value 3 [3m0s, 3m0s] n=1", "new_value 4 [4m0s, 4m0s] n=1"}},
		{"distinct_count", 0, nil, nil},
		{"sequence", 0, nil, nil},
		{"absence", 1, nil, []string{"absence 2 [2m0s, 1h2m0s] n=1", "absence 3 [3m0s, 1h3m0s] n=1", "absence 4 [4m0s, 1h4m0s] n=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newShRig(t, shOps[tc.name]())
			r.process(shEv(3, 3, 1, tc.kind, 3*time.Minute), shEv(1, 1, 1, tc.kind, time.Minute),
				shEv(4, 4, 1, tc.kind, 4*time.Minute), shEv(2, 2, 1, tc.kind, 2*time.Minute))
			r.stats("before", 0, 0, 4)
			r.op.Shed(0.5)
			// Users 1 and 2 are decided; then one of the two keys goes: user 1.
			diff(t, "shed", r.advance(base), tc.shed)
			r.stats("shed", 3, 1, 2)
			r.logged(3)
			r.process(shEv(5, 5, 1, tc.kind, 2*time.Minute))
			if st := r.op.Stats(); st.Late != 1 {
				t.Fatalf("an event at 2m is late once 2m was decided: %+v", st)
			}
			diff(t, "after", r.advance(stream.MaxWatermark), tc.after)
		})
	}
}

// Shed on an empty operator does nothing, whatever the fraction.
func TestShedEmpty(t *testing.T) {
	for _, name := range shNames() {
		t.Run(name, func(t *testing.T) {
			r := newShRig(t, shOps[name]())
			r.advance(base)
			empty := r.snapshot()
			for _, f := range []float64{0.5, 1, 2, 0, -1, math.NaN(), math.Inf(1)} {
				r.op.Shed(f)
				diff(t, "advance", r.advance(base), nil)
				r.op.Shed(f)
				diff(t, "process", r.process(), nil)
			}
			r.stats("empty", 0, 0, 0)
			if !bytes.Equal(r.snapshot(), empty) {
				t.Fatal("the state changed")
			}
			if r.logs.Len() != 0 {
				t.Fatalf("logged:\n%s", r.logs.String())
			}
		})
	}
}

// A fraction at or below 0 (or NaN) drops nothing; requests between calls
// do not add up (the largest wins); above 1 is 1; a request is applied
// once.
func TestShedFractions(t *testing.T) {
	r := newShRig(t, shOps["count_within"]())
	for u := int64(1); u <= 8; u++ {
		r.process(shEv(u, u, 0, 0, time.Duration(u)*time.Minute))
	}
	r.advance(mn(10))
	for _, f := range []float64{0, -0.5, math.NaN()} {
		r.op.Shed(f)
	}
	r.advance(mn(10))
	r.stats("nothing asked", 0, 8, 0)
	r.op.Shed(0.25)
	r.op.Shed(0.1)
	r.advance(mn(10))
	r.stats("0.25 of 8", 2, 6, 0)
	r.advance(mn(10))
	r.stats("applied once", 2, 6, 0)
	r.op.Shed(0.1) // ceil(0.6): one
	r.process()
	r.stats("0.1 of 6", 3, 5, 0)
	r.op.Shed(7)
	r.process()
	r.stats("all", 8, 0, 0)
}

// A shed state snapshots and restores: the restored operator snapshots to
// the same bytes and goes on as the original. (Not shedding again: among
// windows of one action time, or keys of one age, the choice follows the
// heap's or table's layout, which a restore does not keep.)
func TestShedSnapshotRestores(t *testing.T) {
	for _, name := range shNames() {
		t.Run(name, func(t *testing.T) {
			r := newShRig(t, shOps[name]())
			var evs []stream.Event
			for u := int64(1); u <= 6; u++ {
				evs = append(evs, shEv(u, u, u%2, u%3, time.Duration(u)*7*time.Minute))
			}
			r.process(evs[:3]...)
			r.advance(mn(22))
			r.process(evs[3:]...)
			before := r.snapshot()
			r.op.Shed(0.5)
			if !bytes.Equal(r.snapshot(), before) {
				t.Fatal("Shed changed the state before the next call")
			}
			r.advance(mn(22))
			if r.op.Stats().Evictions == 0 {
				t.Fatal("nothing was shed: the test proves nothing")
			}
			shed := r.snapshot()
			if bytes.Equal(shed, before) {
				t.Fatal("shedding left the state as it was")
			}
			c := newShRig(t, shOps[name]())
			if err := c.op.Restore(shed); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(c.snapshot(), shed) {
				t.Fatal("the restored state snapshots to other bytes")
			}
			more := []stream.Event{shEv(11, 1, 5, 1, 50*time.Minute), shEv(12, 5, 6, 1, 55*time.Minute), shEv(13, 6, 7, 2, 60*time.Minute)}
			want := append(r.process(more...), r.advance(stream.MaxWatermark)...)
			got := append(c.process(more...), c.advance(stream.MaxWatermark)...)
			diff(t, "restored", got, want)
		})
	}
}

// Restore keeps the operator's counters: the dedup ids' evictions too.
func TestRestoreKeepsIDEvictions(t *testing.T) {
	for _, name := range []string{"dedup", "tumbling"} {
		t.Run(name, func(t *testing.T) {
			r := newShRig(t, shOps[name]())
			r.process(shEv(1, 1, 0, 0, time.Minute), shEv(2, 2, 0, 0, 2*time.Minute))
			r.op.Shed(1)
			r.process()
			want := r.op.Stats().Evictions
			if err := r.op.Restore(r.snapshot()); err != nil {
				t.Fatal(err)
			}
			if got := r.op.Stats().Evictions; got != want || want == 0 {
				t.Fatalf("evictions %d after the restore, %d before", got, want)
			}
		})
	}
}
