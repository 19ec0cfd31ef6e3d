package window_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// Shop events for the absence tests: a user (an int, or a string in the
// second schema), a region and a kind. Kinds: 0 other, 1 cart (start),
// 2 purchase (end), 3 both, 4 an event on which both predicates fail, 5
// one on which Start panics (End: no match).
var (
	abIntSchema = stream.MustSchema("shop", stream.Field{Name: "id", Kind: stream.KindInt},
		stream.Field{Name: "user", Kind: stream.KindInt}, stream.Field{Name: "region", Kind: stream.KindInt},
		stream.Field{Name: "kind", Kind: stream.KindInt})
	abStrSchema = stream.MustSchema("shop", stream.Field{Name: "id", Kind: stream.KindInt},
		stream.Field{Name: "user", Kind: stream.KindString}, stream.Field{Name: "region", Kind: stream.KindInt},
		stream.Field{Name: "kind", Kind: stream.KindInt})
	errAbBoom = errors.New("boom")
)

type abEv struct {
	id, user, region, kind, t int64
}

func (e abEv) isStart() bool { return e.kind == 1 || e.kind == 3 }
func (e abEv) isEnd() bool   { return e.kind == 2 || e.kind == 3 }

func (e abEv) event(strs bool) stream.Event {
	ev := stream.Event{Time: e.t, Pos: stream.Position{Source: "in", Partition: 0, Offset: e.id}, Joins: adJoins(e.id)}
	user := stream.Int(e.user)
	ev.Schema, ev.Key = abIntSchema, fmt.Sprint(e.user)
	if strs {
		user = stream.String(fmt.Sprintf("u%d", e.user))
		ev.Schema, ev.Key = abStrSchema, user.Str()
	}
	ev.Fields = []stream.Value{stream.Int(e.id), user, stream.Int(e.region), stream.Int(e.kind)}
	return ev
}

func abStart(ev *stream.Event) (bool, error) {
	switch k := ev.Get("kind").Int(); k {
	case 4:
		return false, errAbBoom
	case 5:
		panic("a predicate panics")
	default:
		return k == 1 || k == 3, nil
	}
}

func abEnd(ev *stream.Event) (bool, error) {
	switch k := ev.Get("kind").Int(); k {
	case 4:
		return false, errAbBoom
	default:
		return k == 2 || k == 3, nil
	}
}

// abVariant is a key shape: one or two fields, ints or a string user.
type abVariant struct {
	keyBy []string
	strs  bool
}

var abVariants = []abVariant{{[]string{"user"}, false}, {[]string{"user", "region"}, false},
	{[]string{"user"}, true}, {[]string{"user", "region"}, true}}

func (v abVariant) key(e abEv) string {
	k := fmt.Sprint(e.user)
	if v.strs {
		k = "u" + k
	}
	if len(v.keyBy) > 1 {
		k += fmt.Sprintf("|%d", e.region)
	}
	return k
}

func abConfig(v abVariant, within, lateness time.Duration) window.AbsenceConfig {
	return window.AbsenceConfig{PatternConfig: window.PatternConfig{Name: "abandoned", KeyBy: v.keyBy, Within: within,
		Dedup: "id", AllowedLateness: lateness}, Start: abStart, End: abEnd}
}

// abInput returns n distinct events on few keys and a coarse clock, so
// that ties and exact bounds are frequent.
func abInput(r *rand.Rand, n int, span time.Duration) []abEv {
	kinds := []int64{0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 4, 5}
	es := make([]abEv, n)
	for i := range es {
		es[i] = abEv{id: int64(i), user: r.Int64N(3), region: r.Int64N(2), kind: kinds[r.IntN(len(kinds))],
			t: base + r.Int64N(int64(span/time.Minute))*int64(time.Minute)}
	}
	return es
}

// abOracle is AbsenceConfig's definition, evaluated directly: per key, the
// events in decision order (time, then id; each once); a start fires unless
// an end follows it (later in that order) at most within after it. Results
// are sorted by deadline, then by the start's decision order.
func abOracle(es []abEv, v abVariant, within time.Duration) (lines []string, cancelled int) {
	sorted := slices.Clone(es)
	slices.SortFunc(sorted, func(a, b abEv) int { return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.id, b.id)) })
	by := map[string][]abEv{}
	for _, e := range sorted {
		by[v.key(e)] = append(by[v.key(e)], e)
	}
	var fired []abEv
	for _, l := range by {
		for i, s := range l {
			if !s.isStart() {
				continue
			}
			ended := false
			for _, e := range l[i+1:] {
				if e.t-s.t > int64(within) {
					break
				}
				ended = ended || e.isEnd()
			}
			if ended {
				cancelled++
			} else {
				fired = append(fired, s)
			}
		}
	}
	slices.SortFunc(fired, func(a, b abEv) int { return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.id, b.id)) })
	for _, s := range fired {
		ev := s.event(v.strs)
		ev.Time = s.t + int64(within)
		ev.Window = &stream.WindowInfo{Name: "abandoned", Kind: window.KindAbsence, Key: v.key(s),
			Start: s.t, End: s.t + int64(within), First: s.t, Last: s.t, Count: 1}
		lines = append(lines, adLine(ev))
	}
	return lines, cancelled
}

func abEvents(es []abEv, strs bool) []stream.Event {
	evs := make([]stream.Event, len(es))
	for i, e := range es {
		evs[i] = e.event(strs)
	}
	return evs
}

// TestAbsenceEqualsOracle: on random inputs (keys of four shapes, kinds,
// Within, predicate errors and panics), delivered out of order within the
// watermark's bound (or the allowed lateness) with duplicates, in random
// batches, with restarts from snapshots at random intervals, the results
// equal the definition's, in full.
func TestAbsenceEqualsOracle(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 60
	}
	var results, cancelled, restarts int
	var dups, errs int64
	for seed := range uint64(seeds) {
		r := rand.New(rand.NewPCG(seed, 0xab5))
		v := abVariants[seed%4]
		within := time.Duration(1+r.IntN(40)) * time.Minute
		lateness := time.Duration(0)
		if seed%3 == 0 {
			lateness = 15 * time.Minute
		}
		es := abInput(r, 20+r.IntN(100), 3*time.Hour)
		want, c := abOracle(es, v, within)
		results, cancelled = results+len(want), cancelled+c
		for try := range 3 {
			cfg := abConfig(v, within, lateness)
			fresh := func() adOp { return must(window.NewAbsence(cfg)) }
			var op stream.Operator = fresh()
			if try > 0 {
				rs := &adRestarter{adOp: fresh(), t: t, fresh: fresh, every: 1 + r.IntN(12)}
				defer func() { restarts += rs.restarts }()
				op = rs
			}
			res, st := drive(t, r, op, adArrival(r, abEvents(es, v.strs), 0.3, bound+lateness), bound)
			if st.Late != 0 {
				t.Fatalf("seed %d: %d events late within the bound", seed, st.Late)
			}
			diff(t, fmt.Sprintf("seed %d variant %v within %v lateness %v try %d", seed, v, within, lateness, try), adLines(res), want)
			if try == 0 && st.Emitted != int64(len(want)) { // (a restart restarts the counters)
				t.Fatalf("seed %d: Emitted %d, want %d: %+v", seed, st.Emitted, len(want), st)
			}
			dups, errs = dups+st.Duplicates, errs+st.Errors
		}
	}
	t.Cleanup(func() {
		t.Logf("%d results, %d cancelled starts, %d duplicates, %d predicate errors, %d restarts", results, cancelled, dups, errs, restarts)
		if results == 0 || cancelled == 0 || dups == 0 || errs == 0 || restarts == 0 {
			t.Errorf("the inputs prove little: %d results, %d cancelled starts, %d duplicates, %d errors, %d restarts",
				results, cancelled, dups, errs, restarts)
		}
	})
}

// TestAbsencePipelineEqualsOracle runs random inputs through a real
// stream.Pipeline whose operator restarts from snapshots every few calls.
func TestAbsencePipelineEqualsOracle(t *testing.T) {
	restarts := 0
	for seed := range uint64(6) {
		r := rand.New(rand.NewPCG(seed, 0xab6))
		v := abVariants[seed%4]
		within := time.Duration(5+r.IntN(30)) * time.Minute
		lateness := time.Duration(seed%2) * 10 * time.Minute
		es := abInput(r, 400, 12*time.Hour)
		want, _ := abOracle(es, v, within)
		cfg := abConfig(v, within, 0) // the pipeline's lateness
		fresh := func() adOp { return must(window.NewAbsence(cfg)) }
		res, late, rs := adPipeline(t, fresh, adArrival(r, abEvents(es, v.strs), 0.2, bound+lateness), bound, lateness, 1+r.IntN(9), 2+r.IntN(4))
		if len(late) != 0 {
			t.Fatalf("seed %d: %d late events", seed, len(late))
		}
		restarts += rs.restarts
		diff(t, fmt.Sprintf("pipeline seed %d", seed), adLines(res), want)
	}
	if restarts == 0 {
		t.Fatal("no restart")
	}
}

func abOne(user, kind int64, at time.Duration, id int64) stream.Event {
	return abEv{id: id, user: user, kind: kind, t: base + int64(at)}.event(false)
}

// abRun feeds events at once and advances to each watermark in turn,
// returning the results after each advance.
func abRun(t *testing.T, op *window.Absence, evs []stream.Event, wms ...int64) [][]string {
	t.Helper()
	ctx := context.Background()
	var out stream.Emitter
	if err := op.Process(ctx, evs, &out); err != nil {
		t.Fatal(err)
	}
	var res [][]string
	for _, wm := range wms {
		out.Reset()
		if err := op.Advance(ctx, wm, &out); err != nil {
			t.Fatal(err)
		}
		var ls []string
		for _, ev := range out.Events() {
			ls = append(ls, fmt.Sprintf("%d@%v", ev.Get("id").Int(), time.Duration(ev.Time-base)))
		}
		res = append(res, ls)
	}
	return res
}

// The exact bounds: an end at exactly start + Within cancels, one a
// nanosecond later does not; the result fires once the release point
// passes the deadline, not when it reaches it; an end at the start's time
// but before it in decision order does not cancel it; an event matching
// both ends the earlier starts and starts anew.
func TestAbsenceBounds(t *testing.T) {
	cfg := abConfig(abVariants[0], 10*time.Minute, 0)
	op := must(window.NewAbsence(cfg))
	m := time.Minute
	evs := []stream.Event{
		abOne(1, 1, 0, 10), abOne(1, 2, 10*m, 11), // cancelled at exactly Within
		abOne(2, 1, 0, 20), abOne(2, 2, 10*m+1, 21), // fires: the end is 1ns late
		abOne(3, 2, 0, 30), abOne(3, 1, 0, 31), // the end precedes the start in decision order: fires
		abOne(4, 1, 0, 41), abOne(4, 2, 0, 40), // likewise (ids order ties)
		abOne(5, 1, 0, 50), abOne(5, 1, m, 51), abOne(5, 3, 2*m, 52), // 52 cancels 50 and 51, then fires itself
	}
	got := abRun(t, op, evs, base+int64(10*m), base+int64(10*m+1), base+int64(10*m+2), base+int64(12*m), base+int64(12*m+1), stream.MaxWatermark)
	// Release point 10m: the events at 10m are not decided, nothing fires.
	// 10m+1ns: they are; the starts whose deadline is 10m fire (20's end at
	// 10m+1ns is not within Within), by decision order. 52 fires once the
	// release point passes 12m.
	want := "[[] [20@10m0s 31@10m0s 41@10m0s] [] [] [52@12m0s] []]"
	if fmt.Sprint(got) != want {
		t.Fatalf("results by watermark\n got %v\nwant %s", got, want)
	}
	st := op.Stats()
	if st.Emitted != 4 || st.ActiveKeys != 0 || st.Expired != 4 {
		t.Fatalf("stats %+v", st)
	}
}

// A late end (within the allowed lateness) that arrives before the
// release point passes the deadline cancels the start; one that arrives
// after it is late.
func TestAbsenceLateEnd(t *testing.T) {
	cfg := abConfig(abVariants[0], 10*time.Minute, 5*time.Minute)
	op := must(window.NewAbsence(cfg))
	ctx := context.Background()
	var out stream.Emitter
	m := int64(time.Minute)
	_ = op.Process(ctx, []stream.Event{abOne(1, 1, 0, 1), abOne(2, 1, 0, 2)}, &out)
	_ = op.Advance(ctx, base+14*m, &out) // release point 9m
	_ = op.Process(ctx, []stream.Event{abOne(1, 2, 9*time.Minute, 3)}, &out)
	_ = op.Advance(ctx, base+20*m, &out) // release point 15m: 2 fires
	_ = op.Process(ctx, []stream.Event{abOne(2, 2, 9*time.Minute, 4)}, &out)
	_ = op.Advance(ctx, stream.MaxWatermark, &out)
	if len(out.Events()) != 1 || out.Events()[0].Get("id").Int() != 2 || len(out.LateEvents()) != 1 {
		t.Fatalf("results %v, late %v", adLines(out.Events()), out.LateEvents())
	}
}

// MaxMatches drops a key's oldest pending start; MaxKeys evicts the key
// whose latest start is oldest; both count and are logged at most once a
// minute of the pipeline's clock.
func TestAbsenceBounded(t *testing.T) {
	var logs bytes.Buffer
	clk := stream.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg := abConfig(abVariants[0], time.Hour, 0)
	cfg.MaxMatches, cfg.MaxKeys = 3, 10
	op := must(window.NewAbsence(cfg))
	env := stream.Env{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Clock: clk, Schema: abIntSchema}
	if err := op.Start(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out stream.Emitter
	var in []stream.Event
	for i := range 5 { // user 0: five starts, the two oldest dropped
		in = append(in, abOne(0, 1, time.Duration(i)*time.Second, int64(i)))
	}
	_ = op.Process(ctx, in, &out)
	_ = op.Advance(ctx, base+int64(time.Minute), &out)
	if st := op.Stats(); st.Evictions != 2 || st.ActiveKeys != 1 {
		t.Fatalf("after MaxMatches: %+v", st)
	}
	in = nil
	for u := range 20 { // 20 more users, one start each: 10 keys at most
		in = append(in, abOne(int64(1+u), 1, 2*time.Minute+time.Duration(u)*time.Second, int64(100+u)))
	}
	_ = op.Process(ctx, in, &out)
	_ = op.Advance(ctx, base+int64(3*time.Minute), &out)
	if st := op.Stats(); st.Evictions != 2+11 || st.ActiveKeys != 10 {
		t.Fatalf("after MaxKeys: %+v", st)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("%d log lines within a minute, want 1:\n%s", n, logs.String())
	}
	clk.Advance(time.Minute)
	_ = op.Process(ctx, []stream.Event{abOne(99, 1, 4*time.Minute, 999)}, &out)
	_ = op.Advance(ctx, base+int64(5*time.Minute), &out)
	if n := strings.Count(logs.String(), "level=WARN"); n != 2 || !strings.Contains(logs.String(), "evictions_total=14") {
		t.Fatalf("%d log lines a minute later, want 2 with the total:\n%s", n, logs.String())
	}
	_ = op.Advance(ctx, stream.MaxWatermark, &out)
	if got := len(out.Events()); got != 10 {
		t.Fatalf("%d results, want the 10 keys' pending starts", got)
	}
}

func TestAbsenceConfigAndStart(t *testing.T) {
	ok := abConfig(abVariants[0], time.Minute, 0)
	for _, c := range []struct {
		mod  func(c *window.AbsenceConfig)
		want string
	}{
		{func(c *window.AbsenceConfig) { c.Start = nil }, "Start is required"},
		{func(c *window.AbsenceConfig) { c.End = nil }, "End is required"},
		{func(c *window.AbsenceConfig) { c.Within = 0 }, "Within must be positive"},
		{func(c *window.AbsenceConfig) { c.KeyBy = nil }, "KeyBy needs at least one field"},
		{func(c *window.AbsenceConfig) { c.Name = "" }, "Name is required"},
		{func(c *window.AbsenceConfig) { c.MaxKeys, c.MaxMatches = 1<<30, 2 }, "MaxKeys × MaxMatches"},
	} {
		cfg := ok
		c.mod(&cfg)
		if _, err := window.NewAbsence(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.want, err)
		}
	}
	op := must(window.NewAbsence(abConfig(abVariants[1], time.Minute, 0)))
	noRegion := stream.MustSchema("shop", stream.Field{Name: "user", Kind: stream.KindInt})
	if err := op.Start(context.Background(), stream.Env{Schema: noRegion}); err == nil || !strings.Contains(err.Error(), "key field region not in") {
		t.Fatalf("start: %v", err)
	}
	var out stream.Emitter
	if err := op.Process(context.Background(), []stream.Event{{Time: base}}, &out); err == nil {
		t.Fatal("an event without a schema was keyed")
	}
	if err := op.Process(context.Background(), []stream.Event{{Time: 1 << 62, Schema: abIntSchema, Fields: make([]stream.Value, 4)}}, &out); err != nil || len(out.DeadLetters()) != 1 {
		t.Fatalf("out of range: %v, %v", err, out.DeadLetters())
	}
}

// MaxPending decides the oldest half early, counted as evictions; what
// arrives behind it is late.
func TestAbsenceMaxPending(t *testing.T) {
	cfg := abConfig(abVariants[0], time.Minute, 0)
	cfg.MaxPending = 10
	op := must(window.NewAbsence(cfg))
	var out stream.Emitter
	var in []stream.Event
	for i := range 11 {
		in = append(in, abOne(int64(i), 1, time.Duration(i)*time.Hour, int64(i)))
	}
	_ = op.Process(context.Background(), in, &out)
	st := op.Stats()
	if st.Evictions != 6 || st.Pending != 5 || len(out.Events()) != 5 {
		t.Fatalf("stats %+v, %d results", st, len(out.Events()))
	}
	_ = op.Process(context.Background(), []stream.Event{abOne(0, 2, time.Hour, 100)}, &out)
	if op.Stats().Late != 1 {
		t.Fatalf("stats %+v", op.Stats())
	}
}

// abSeedSnapshots returns snapshots of busy Absence states.
func abSeedSnapshots() [][]byte {
	var snaps [][]byte
	for _, v := range abVariants {
		r := rand.New(rand.NewPCG(1, 2))
		op := must(window.NewAbsence(abConfig(v, 20*time.Minute, 0)))
		var out stream.Emitter
		_ = op.Process(context.Background(), adArrival(r, abEvents(abInput(r, 60, time.Hour), v.strs), 0.3, bound), &out)
		_ = op.Advance(context.Background(), base+int64(30*time.Minute), &out)
		snap, _ := op.Snapshot()
		snaps = append(snaps, snap)
	}
	return snaps
}

func TestAbsenceRestoreRejectsCorruptBytes(t *testing.T) {
	for _, snap := range abSeedSnapshots() {
		for i := range snap {
			op := must(window.NewAbsence(abConfig(abVariants[3], 20*time.Minute, 0)))
			if err := op.Restore(snap[:i]); !errors.Is(err, window.ErrCorrupt) {
				t.Fatalf("truncated at %d: %v", i, err)
			}
		}
		op := must(window.NewDistinctCount(dcConfig([]string{"user"}, 3, time.Minute, 0)))
		if err := op.Restore(snap); !errors.Is(err, window.ErrCorrupt) {
			t.Fatalf("a distinct count restored an absence: %v", err)
		}
	}
}

// FuzzAbsenceRestore: corrupt snapshots give an error wrapping ErrCorrupt,
// never a panic, and a state that restores keeps working.
func FuzzAbsenceRestore(f *testing.F) {
	for _, s := range abSeedSnapshots() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, v := range abVariants[:3] {
			op := must(window.NewAbsence(abConfig(v, 20*time.Minute, 0)))
			if err := op.Restore(data); err != nil {
				if !errors.Is(err, window.ErrCorrupt) {
					t.Fatalf("error %v does not wrap ErrCorrupt", err)
				}
				continue
			}
			snap, err := op.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			again := must(window.NewAbsence(abConfig(v, 20*time.Minute, 0)))
			if err := again.Restore(snap); err != nil {
				t.Fatalf("its own snapshot: %v", err)
			}
			var out stream.Emitter
			ctx := context.Background()
			_ = op.Process(ctx, abEvents([]abEv{{id: 1, user: 1, kind: 1, t: base}, {id: 2, user: 1, kind: 2, t: base + 1}}, v.strs), &out)
			_ = op.Advance(ctx, base+int64(time.Hour), &out)
			_ = op.Advance(ctx, stream.MaxWatermark, &out)
			if st := op.Stats(); st.ActiveKeys != 0 || st.Pending != 0 {
				t.Fatalf("state left at the end: %+v", st)
			}
		}
	})
}
