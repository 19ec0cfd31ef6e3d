package window_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// Plays for the distinct-count tests: a user (an int, or a string), a
// region and a value whose kind varies (one schema per kind).
var dcSchemas = func() map[[2]int]*stream.Schema {
	m := map[[2]int]*stream.Schema{}
	for _, strs := range []bool{false, true} {
		user := stream.KindInt
		if strs {
			user = stream.KindString
		}
		for _, k := range []stream.Kind{stream.KindString, stream.KindInt, stream.KindFloat, stream.KindBool, stream.KindTime} {
			m[[2]int{dcBool(strs), int(k)}] = stream.MustSchema("play", stream.Field{Name: "id", Kind: stream.KindInt},
				stream.Field{Name: "user", Kind: user}, stream.Field{Name: "region", Kind: stream.KindInt},
				stream.Field{Name: "val", Kind: k})
		}
	}
	return m
}()

func dcBool(b bool) int {
	if b {
		return 1
	}
	return 0
}

type dcEv struct {
	id, user, region int64
	val              stream.Value
	t                int64
}

func (e dcEv) event(strs bool) stream.Event {
	k := e.val.Kind()
	if k == stream.KindNull {
		k = stream.KindInt
	}
	ev := stream.Event{Time: e.t, Pos: stream.Position{Source: "in", Partition: 0, Offset: e.id}, Joins: adJoins(e.id),
		Schema: dcSchemas[[2]int{dcBool(strs), int(k)}], Key: fmt.Sprint(e.user)}
	user := stream.Int(e.user)
	if strs {
		user = stream.String(fmt.Sprintf("u%d", e.user))
		ev.Key = user.Str()
	}
	// A fresh copy of a string value: equal content, other memory.
	val := e.val
	if val.Kind() == stream.KindString {
		val = stream.String(strings.Clone(val.Str()))
	}
	ev.Fields = []stream.Value{stream.Int(e.id), user, stream.Int(e.region), val}
	return ev
}

func dcEvents(es []dcEv, strs bool) []stream.Event {
	evs := make([]stream.Event, len(es))
	for i, e := range es {
		evs[i] = e.event(strs)
	}
	return evs
}

func dcConfig(keyBy []string, count int, within, lateness time.Duration) window.DistinctCountConfig {
	return window.DistinctCountConfig{PatternConfig: window.PatternConfig{Name: "hopper", KeyBy: keyBy, Within: within,
		Dedup: "id", AllowedLateness: lateness}, Field: "val", Count: count}
}

// Value domains: a few ints; a few strings; a mix of kinds, the same
// numbers as ints, times, bools, floats and strings (all different
// values), -0 and 0 (equal), NaN.
var dcDomains = [][]stream.Value{
	{stream.Int(0), stream.Int(1), stream.Int(2), stream.Int(3), stream.Int(4), stream.Null()},
	{stream.String("a"), stream.String("b"), stream.String("c"), stream.String("d"), stream.Null()},
	{stream.Int(0), stream.Int(1), stream.TimeNanos(1), stream.Bool(true), stream.Bool(false), stream.String("1"),
		stream.Float(1), stream.Float(0), stream.Float(math.Copysign(0, -1)), stream.Float(math.NaN()), stream.Null()},
}

func dcInput(r *rand.Rand, n int, span time.Duration, domain []stream.Value) []dcEv {
	es := make([]dcEv, n)
	for i := range es {
		es[i] = dcEv{id: int64(i), user: r.Int64N(3), region: r.Int64N(2), val: domain[r.IntN(len(domain))],
			t: base + r.Int64N(int64(span/time.Minute))*int64(time.Minute)}
	}
	return es
}

// dcCanon is the documented equality of floats: -0 is 0, NaN is NaN.
func dcCanon(v stream.Value) stream.Value {
	if v.Kind() == stream.KindFloat {
		if f := v.Float(); f == 0 {
			return stream.Float(0)
		} else if f != f {
			return stream.Float(math.NaN())
		}
	}
	return v
}

// dcOracle is DistinctCountConfig's definition, evaluated directly: per
// key, the events in decision order (time, then id; each once); an event
// with a value fires when the values of the key's events since its last
// match, in [t - within, t], number count; the window's first time is the
// earliest among those values' latest times.
func dcOracle(es []dcEv, v abVariant, count int, within time.Duration) []string {
	sorted := slices.Clone(es)
	slices.SortFunc(sorted, func(a, b dcEv) int { return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.id, b.id)) })
	by := map[string][]dcEv{}
	key := func(e dcEv) string { return v.key(abEv{user: e.user, region: e.region}) }
	for _, e := range sorted {
		by[key(e)] = append(by[key(e)], e)
	}
	type match struct {
		e     dcEv
		first int64
	}
	var ms []match
	for _, l := range by {
		from := 0
		for j, e := range l {
			if e.val.IsNull() {
				continue
			}
			latest := map[stream.Value]int64{}
			for _, x := range l[from : j+1] {
				if !x.val.IsNull() && x.t >= e.t-int64(within) {
					latest[dcCanon(x.val)] = max(latest[dcCanon(x.val)], x.t)
				}
			}
			if len(latest) >= count {
				ms = append(ms, match{e, slices.Min(slices.Collect(maps.Values(latest)))})
				from = j + 1
			}
		}
	}
	slices.SortFunc(ms, func(a, b match) int { return cmp.Or(cmp.Compare(a.e.t, b.e.t), cmp.Compare(a.e.id, b.e.id)) })
	var lines []string
	for _, m := range ms {
		ev := m.e.event(v.strs)
		ev.Window = &stream.WindowInfo{Name: "hopper", Kind: window.KindDistinctCount, Key: key(m.e),
			Start: m.first, End: m.e.t, First: m.first, Last: m.e.t, Count: int64(count)}
		lines = append(lines, adLine(ev))
	}
	return lines
}

// TestDistinctCountEqualsOracle: on random inputs (keys of four shapes,
// values from small domains of one or many kinds, Count, Within),
// delivered out of order within the watermark's bound (or the allowed
// lateness) with duplicates, in random batches, with restarts from
// snapshots at random intervals, the results equal the definition's, in
// full.
func TestDistinctCountEqualsOracle(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 60
	}
	var results, restarts int
	var dups int64
	for seed := range uint64(seeds) {
		r := rand.New(rand.NewPCG(seed, 0xdc))
		v := abVariants[seed%4]
		domain := dcDomains[(seed/4)%3]
		count := 1 + r.IntN(5)
		within := time.Duration(1+r.IntN(40)) * time.Minute
		lateness := time.Duration(0)
		if seed%3 == 0 {
			lateness = 15 * time.Minute
		}
		es := dcInput(r, 20+r.IntN(100), 3*time.Hour, domain)
		want := dcOracle(es, v, count, within)
		results += len(want)
		for try := range 3 {
			cfg := dcConfig(v.keyBy, count, within, lateness)
			fresh := func() adOp { return must(window.NewDistinctCount(cfg)) }
			var op stream.Operator = fresh()
			if try > 0 {
				rs := &adRestarter{adOp: fresh(), t: t, fresh: fresh, every: 1 + r.IntN(12)}
				defer func() { restarts += rs.restarts }()
				op = rs
			}
			res, st := drive(t, r, op, adArrival(r, dcEvents(es, v.strs), 0.3, bound+lateness), bound)
			if st.Late != 0 {
				t.Fatalf("seed %d: %d events late within the bound", seed, st.Late)
			}
			dups += st.Duplicates
			diff(t, fmt.Sprintf("seed %d variant %v count %d within %v lateness %v try %d", seed, v, count, within, lateness, try),
				adLines(res), want)
		}
	}
	t.Cleanup(func() {
		t.Logf("%d results, %d duplicates, %d restarts", results, dups, restarts)
		if results == 0 || dups == 0 || restarts == 0 {
			t.Errorf("the inputs prove little: %d results, %d duplicates, %d restarts", results, dups, restarts)
		}
	})
}

// TestDistinctCountPipelineEqualsOracle runs random inputs through a real
// stream.Pipeline whose operator restarts from snapshots every few calls.
func TestDistinctCountPipelineEqualsOracle(t *testing.T) {
	restarts := 0
	for seed := range uint64(6) {
		r := rand.New(rand.NewPCG(seed, 0xdd))
		v := abVariants[seed%4]
		count, within := 2+r.IntN(3), time.Duration(5+r.IntN(30))*time.Minute
		lateness := time.Duration(seed%2) * 10 * time.Minute
		es := dcInput(r, 400, 12*time.Hour, dcDomains[seed%3])
		want := dcOracle(es, v, count, within)
		cfg := dcConfig(v.keyBy, count, within, 0) // the pipeline's lateness
		fresh := func() adOp { return must(window.NewDistinctCount(cfg)) }
		res, late, rs := adPipeline(t, fresh, adArrival(r, dcEvents(es, v.strs), 0.2, bound+lateness), bound, lateness, 1+r.IntN(9), 2+r.IntN(4))
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

// dcRun feeds events and the final watermark, returning the results as
// "id first..last".
func dcRun(t *testing.T, cfg window.DistinctCountConfig, es []dcEv) []string {
	t.Helper()
	op := must(window.NewDistinctCount(cfg))
	var out stream.Emitter
	ctx := context.Background()
	if err := op.Process(ctx, dcEvents(es, false), &out); err != nil {
		t.Fatal(err)
	}
	_ = op.Advance(ctx, stream.MaxWatermark, &out)
	var ls []string
	for _, ev := range out.Events() {
		w := ev.Window
		ls = append(ls, fmt.Sprintf("%d %v..%v", ev.Get("id").Int(), time.Duration(w.First-base), time.Duration(w.Last-base)))
	}
	return ls
}

// Exact bounds: a value at exactly t - Within counts, one a nanosecond
// older does not; a match consumes the key's values; the window's first
// time is the earliest of the values' latest times; Count 1 fires on every
// value.
func TestDistinctCountBounds(t *testing.T) {
	m := int64(time.Minute)
	at := func(id int64, val stream.Value, t int64) dcEv { return dcEv{id: id, val: val, t: base + t} }
	cfg := dcConfig([]string{"user"}, 3, 10*time.Minute, 0)
	got := dcRun(t, cfg, []dcEv{at(1, stream.Int(1), 0), at(2, stream.Int(2), 5*m), at(3, stream.Int(3), 10*m), // 1..3 at exactly Within: match
		at(4, stream.Int(1), 11*m), at(5, stream.Int(2), 12*m), // consumed: these count anew
		at(6, stream.Int(4), 21*m+1), // 4 is 10m+1ns after 1: 1 no longer counts
		at(7, stream.Int(2), 22*m), at(8, stream.Null(), 22*m), at(9, stream.Int(5), 23*m)})
	if want := []string{"3 0s..10m0s", "9 21m0.000000001s..23m0s"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	got = dcRun(t, cfg, []dcEv{at(1, stream.Int(1), 0), at(2, stream.Int(2), m), at(3, stream.Int(1), 2*m), at(4, stream.Int(3), 3*m)})
	if want := []string{"4 1m0s..3m0s"}; !slices.Equal(got, want) {
		t.Fatalf("first is the earliest latest time: got %v, want %v", got, want)
	}
	got = dcRun(t, dcConfig([]string{"user"}, 1, time.Minute, 0), []dcEv{at(1, stream.Int(1), 0), at(2, stream.Null(), 0), at(3, stream.Int(1), 0)})
	if want := []string{"1 0s..0s", "3 0s..0s"}; !slices.Equal(got, want) {
		t.Fatalf("count 1: got %v, want %v", got, want)
	}
}

// Values compare by kind and content: 1 as an int, a time, a bool, a float
// and a string are five values; strings compare by content; -0 equals 0
// and NaN equals NaN.
func TestDistinctCountValueEquality(t *testing.T) {
	at := func(id int64, val stream.Value) dcEv { return dcEv{id: id, val: val, t: base + id} }
	cfg := dcConfig([]string{"user"}, 5, time.Hour, 0)
	got := dcRun(t, cfg, []dcEv{at(1, stream.Int(1)), at(2, stream.TimeNanos(1)), at(3, stream.Bool(true)), at(4, stream.Float(1)),
		at(5, stream.String("1"))})
	if len(got) != 1 || !strings.HasPrefix(got[0], "5 ") {
		t.Fatalf("five kinds: %v", got)
	}
	cfg.Count = 3
	got = dcRun(t, cfg, []dcEv{at(1, stream.String("ab")), at(2, stream.String(strings.Repeat("ab", 1)[:2])), at(3, stream.Float(0)),
		at(4, stream.Float(math.Copysign(0, -1))), at(5, stream.Float(math.NaN())), at(6, stream.Float(-math.NaN())), at(7, stream.Int(7))})
	if want := []string{"5 2ns..5ns"}; !slices.Equal(got, want) {
		t.Fatalf("equal values: got %v, want %v", got, want)
	}
}

// MaxKeys evicts the key whose last event is oldest, counted and logged
// at most once a minute; keys whose values can no longer count expire.
func TestDistinctCountBoundedAndExpiring(t *testing.T) {
	var logs bytes.Buffer
	clk := stream.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg := dcConfig([]string{"user"}, 3, time.Minute, 0)
	cfg.MaxKeys = 100
	op := must(window.NewDistinctCount(cfg))
	if err := op.Start(context.Background(), stream.Env{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Clock: clk}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out stream.Emitter
	var es []dcEv
	for i := range 1000 {
		es = append(es, dcEv{id: int64(i), user: int64(i), val: stream.String("x"), t: base + int64(i)*int64(time.Second)})
	}
	_ = op.Process(ctx, dcEvents(es, true), &out)
	_ = op.Advance(ctx, base+1000*int64(time.Second), &out)
	st := op.Stats()
	if st.ActiveKeys > 100 || st.Evictions != 900 {
		t.Fatalf("bounded: %+v", st)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 || !strings.Contains(logs.String(), "keys evicted") {
		t.Fatalf("%d log lines, want 1:\n%s", n, logs.String())
	}
	for i := range 100 { // a sweep per Advance: the keys idle for over a minute go
		_ = op.Advance(ctx, base+1000*int64(time.Second)+int64(i), &out)
	}
	if st := op.Stats(); st.ActiveKeys > 61 || st.Expired < 39 {
		t.Fatalf("expired: %+v", st)
	}
	_ = op.Advance(ctx, stream.MaxWatermark, &out)
	if st := op.Stats(); st.ActiveKeys != 0 || st.Expired+st.Evictions != 1000 {
		t.Fatalf("at the end: %+v", st)
	}
}

// MaxPending decides the oldest half early, counted as evictions; what
// arrives behind it is late.
func TestDistinctCountMaxPending(t *testing.T) {
	cfg := dcConfig([]string{"user"}, 2, time.Hour, 0)
	cfg.MaxPending = 10
	op := must(window.NewDistinctCount(cfg))
	var out stream.Emitter
	var es []dcEv
	for i := range 11 {
		es = append(es, dcEv{id: int64(i), val: stream.Int(int64(i)), t: base + int64(i)*int64(time.Minute)})
	}
	_ = op.Process(context.Background(), dcEvents(es, false), &out)
	if st := op.Stats(); st.Evictions != 6 || st.Pending != 5 || len(out.Events()) != 3 {
		t.Fatalf("stats %+v, %d results", st, len(out.Events()))
	}
	_ = op.Process(context.Background(), dcEvents([]dcEv{{id: 99, val: stream.Int(1), t: base}}, false), &out)
	if op.Stats().Late != 1 {
		t.Fatalf("stats %+v", op.Stats())
	}
}

func TestDistinctCountConfigAndStart(t *testing.T) {
	ok := dcConfig([]string{"user"}, 3, time.Minute, 0)
	for _, c := range []struct {
		mod  func(c *window.DistinctCountConfig)
		want string
	}{
		{func(c *window.DistinctCountConfig) { c.Field = "" }, "Field is required"},
		{func(c *window.DistinctCountConfig) { c.Count = 0 }, "Count must be between 1 and 32768"},
		{func(c *window.DistinctCountConfig) { c.Count = 1<<15 + 1 }, "Count must be between 1 and 32768"},
		{func(c *window.DistinctCountConfig) { c.Within = -time.Second }, "Within must be positive"},
		{func(c *window.DistinctCountConfig) { c.KeyBy = nil }, "KeyBy needs at least one field"},
		{func(c *window.DistinctCountConfig) { c.AllowedLateness = -1 }, "AllowedLateness must not be negative"},
	} {
		cfg := ok
		c.mod(&cfg)
		if _, err := window.NewDistinctCount(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.want, err)
		}
	}
	cfg := ok
	cfg.Field = "track"
	op := must(window.NewDistinctCount(cfg))
	if err := op.Start(context.Background(), stream.Env{Schema: dcSchemas[[2]int{0, int(stream.KindInt)}]}); err == nil ||
		!strings.Contains(err.Error(), "field track not in") {
		t.Fatalf("start: %v", err)
	}
	if err := op.Start(context.Background(), stream.Env{Schema: abIntSchema}); err == nil {
		t.Fatal("started on a schema without the field")
	}
}

// dcSeedSnapshots returns snapshots of busy DistinctCounter states.
func dcSeedSnapshots() [][]byte {
	var snaps [][]byte
	for i, v := range abVariants {
		r := rand.New(rand.NewPCG(1, uint64(i)))
		op := must(window.NewDistinctCount(dcConfig(v.keyBy, 4, 20*time.Minute, 0)))
		var out stream.Emitter
		_ = op.Process(context.Background(), adArrival(r, dcEvents(dcInput(r, 60, time.Hour, dcDomains[i%3]), v.strs), 0.3, bound), &out)
		_ = op.Advance(context.Background(), base+int64(30*time.Minute), &out)
		snap, _ := op.Snapshot()
		snaps = append(snaps, snap)
	}
	return snaps
}

func TestDistinctCountRestoreRejectsCorruptBytes(t *testing.T) {
	for _, snap := range dcSeedSnapshots() {
		for i := range snap {
			op := must(window.NewDistinctCount(dcConfig([]string{"user"}, 4, 20*time.Minute, 0)))
			if err := op.Restore(snap[:i]); !errors.Is(err, window.ErrCorrupt) {
				t.Fatalf("truncated at %d: %v", i, err)
			}
		}
		op := must(window.NewDistinctCount(dcConfig([]string{"user"}, 3, 20*time.Minute, 0)))
		if err := op.Restore(snap); !errors.Is(err, window.ErrCorrupt) || !strings.Contains(err.Error(), "another Count") {
			t.Fatalf("restored a snapshot of another Count: %v", err)
		}
		ab := must(window.NewAbsence(abConfig(abVariants[0], time.Minute, 0)))
		if err := ab.Restore(snap); !errors.Is(err, window.ErrCorrupt) {
			t.Fatalf("an absence restored a distinct count: %v", err)
		}
	}
}

// FuzzDistinctCountRestore: corrupt snapshots give an error wrapping
// ErrCorrupt, never a panic, and a state that restores keeps working.
func FuzzDistinctCountRestore(f *testing.F) {
	for _, s := range dcSeedSnapshots() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for i, v := range abVariants[:3] {
			op := must(window.NewDistinctCount(dcConfig(v.keyBy, 4, 20*time.Minute, 0)))
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
			again := must(window.NewDistinctCount(dcConfig(v.keyBy, 4, 20*time.Minute, 0)))
			if err := again.Restore(snap); err != nil {
				t.Fatalf("its own snapshot: %v", err)
			}
			var out stream.Emitter
			ctx := context.Background()
			_ = op.Process(ctx, dcEvents(dcInput(rand.New(rand.NewPCG(3, 3)), 20, time.Hour, dcDomains[i]), v.strs), &out)
			_ = op.Advance(ctx, base+int64(time.Hour), &out)
			_ = op.Advance(ctx, stream.MaxWatermark, &out)
			if st := op.Stats(); st.ActiveKeys != 0 || st.Pending != 0 {
				t.Fatalf("state left at the end: %+v", st)
			}
		}
	})
}
