package window_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// deltaFactories are the operators that checkpoint incrementally, started
// as a pipeline starts them (restored events share its schemas).
func deltaFactories() map[string]func() snapOp {
	out := map[string]func() snapOp{}
	for name, fresh := range snapFactories() {
		if _, ok := fresh().(stream.DeltaSnapshotter); ok {
			out[name] = started(fresh)
		}
	}
	for name, fresh := range strKeyFactories() {
		if _, ok := fresh().(stream.DeltaSnapshotter); ok {
			out[name] = started(fresh)
		}
	}
	return out
}

// strKeyFactories are operators of snapFactories keyed by a string field
// (and an int one): their keys take the path of keys that are not ints.
func strKeyFactories() map[string]func() snapOp {
	out := map[string]func() snapOp{}
	zip := []string{"listening_zip_code", "track_id"}
	pat := func() window.PatternConfig {
		cfg := patCfg()
		cfg.KeyBy = []string{"listening_zip_code"}
		return cfg
	}
	for _, early := range []bool{false, true} {
		suffix := "_strkey"
		if early {
			suffix += "_early"
		}
		out["count_within"+suffix] = func() snapOp {
			cfg := cwCfg(false)
			cfg.KeyBy, cfg.Early = zip, early
			return must(window.NewCountWithin(cfg))
		}
		out["sequence"+suffix] = func() snapOp {
			return must(window.NewSequence(window.SequenceConfig{PatternConfig: pat(), Steps: []window.Predicate{trackBelow(5), trackBelow(9)}, Early: early}))
		}
		out["new_value"+suffix] = func() snapOp {
			return must(window.NewNewValue(window.NewValueConfig{PatternConfig: pat(), Field: "track_id", Early: early}))
		}
		out["distinct_count"+suffix] = func() snapOp {
			return must(window.NewDistinctCount(window.DistinctCountConfig{PatternConfig: pat(), Field: "track_id", Count: 3, Early: early}))
		}
	}
	out["absence_strkey"] = func() snapOp {
		return must(window.NewAbsence(window.AbsenceConfig{PatternConfig: pat(), Start: trackBelow(3), End: trackBelow(1)}))
	}
	return out
}

func started(fresh func() snapOp) func() snapOp {
	return func() snapOp {
		op := fresh()
		env := stream.Env{Schema: gen.PlaySchema, Schemas: []*stream.Schema{gen.PlaySchema}, Logger: slog.New(slog.DiscardHandler)}
		if err := op.(stream.Starter).Start(context.Background(), env); err != nil {
			panic(err)
		}
		return op
	}
}

// deltaStore applies an operator's deltas as a DeltaCheckpointStore would.
type deltaStore struct {
	base    []byte
	entries map[string][]byte
	puts    int // entries put over every delta
}

func (s *deltaStore) save(t *testing.T, op stream.DeltaSnapshotter, full bool) {
	t.Helper()
	d := stream.DeltaPart{Full: full}
	base, err := op.SnapshotDelta(&d)
	if err != nil {
		t.Fatal(err)
	}
	s.base, s.entries = base, stream.ApplyDelta(s.entries, &d)
	s.puts += len(d.Puts)
}

func (s *deltaStore) kvs() []stream.KV {
	var kvs []stream.KV
	for k, v := range s.entries {
		kvs = append(kvs, stream.KV{Key: []byte(k), Value: v})
	}
	return kvs
}

// deltaRestoring wraps an operator: after each call it may checkpoint
// incrementally, and at the cut-th call it restarts from the store's
// entries, as a restart would, checking the restored state snapshots like
// the one it replaces.
type deltaRestoring struct {
	snapOp
	t        *testing.T
	r        *rand.Rand
	fresh    func() snapOp
	store    deltaStore
	started  bool
	calls    int
	cut      int
	restarts int
}

func (d *deltaRestoring) step() {
	d.calls++
	op := d.snapOp.(stream.DeltaSnapshotter)
	if d.r.IntN(3) == 0 || d.calls == d.cut {
		d.store.save(d.t, op, !d.started)
		d.started = true
	}
	if d.calls != d.cut || !d.started {
		return
	}
	want, err := d.snapOp.Snapshot()
	if err != nil {
		d.t.Fatal(err)
	}
	n := d.fresh()
	if err := n.(stream.DeltaSnapshotter).RestoreDelta(d.store.base, d.store.kvs()); err != nil {
		d.t.Fatalf("restore: %v", err)
	}
	got, _ := n.Snapshot()
	if !bytes.Equal(want, got) {
		d.t.Fatalf("snapshot of the state restored from deltas differs (%d vs %d bytes) at call %d\n%x\n%x", len(got), len(want), d.calls, want, got)
	}
	d.snapOp = n
	d.restarts++
	d.cut += 1 + d.r.IntN(10)
}

func (d *deltaRestoring) Process(ctx context.Context, in []stream.Event, out *stream.Emitter) error {
	defer d.step()
	return d.snapOp.Process(ctx, in, out)
}

func (d *deltaRestoring) Advance(ctx context.Context, wm int64, out *stream.Emitter) error {
	defer d.step()
	return d.snapOp.Advance(ctx, wm, out)
}

// TestDeltaCheckpointsRestore checkpoints each incremental operator at
// random calls, restarts it from the accumulated deltas several times, and
// checks that every restored state equals the one it replaces and that the
// results equal an uninterrupted run.
func TestDeltaCheckpointsRestore(t *testing.T) {
	for name, fresh := range deltaFactories() {
		t.Run(name, func(t *testing.T) {
			restarts := 0
			for seed := range uint64(150) {
				r := rand.New(rand.NewPCG(seed, 9))
				ps := randomPlays(r, 20+r.IntN(80), 3*time.Hour)
				evs := arrival(r, ps, 0.3, bound+10*time.Minute)
				want, _ := drive(t, rand.New(rand.NewPCG(seed, 1)), fresh(), evs, bound)
				rs := &deltaRestoring{snapOp: fresh(), t: t, r: r, fresh: fresh, cut: 1 + r.IntN(10)}
				got, _ := drive(t, rand.New(rand.NewPCG(seed, 1)), rs, evs, bound)
				diff(t, fmt.Sprintf("seed %d", seed), resultLines(got), resultLines(want))
				restarts += rs.restarts
			}
			if restarts < 150 {
				t.Fatalf("only %d restarts from deltas", restarts)
			}
		})
	}
}

// A delta holds what changed, not the state: after a full checkpoint of
// 5000 keys whose events were decided (and swept until the state settles),
// one more event, decided too, puts a few entries (its key's state, its
// early bookkeeping, a dedup id, a key the sweep changed).
func TestDeltaFollowsTheChange(t *testing.T) {
	for name, fresh := range deltaFactories() {
		op := fresh()
		var em stream.Emitter
		var evs []stream.Event
		for i := range 5000 {
			evs = append(evs, play{id: int64(i), cust: int64(i), track: int64(i % 7), t: base + int64(i)*int64(time.Second)}.event(int64(i)))
		}
		next := play{id: 9999, cust: 3, track: 2, // track 2: a start of absence, a first step of sequence
			t: base + 5000*int64(time.Second)}.event(9999)
		ctx := context.Background()
		if err := op.Process(ctx, evs, &em); err != nil {
			t.Fatal(err)
		}
		// Order's state is its buffer and Dedup's its ids, which the
		// watermark empties (no lateness): they take the events buffered.
		decided := name != "order" && name != "dedup"
		rounds := 100
		if !decided {
			rounds = 0
		}
		for range rounds {
			if err := op.Advance(ctx, next.Time, &em); err != nil {
				t.Fatal(err)
			}
		}
		var s deltaStore
		s.save(t, op.(stream.DeltaSnapshotter), true)
		full := s.puts
		if full < 500 {
			t.Fatalf("%s: the full checkpoint put only %d entries", name, full)
		}
		if err := op.Process(ctx, []stream.Event{next}, &em); err != nil {
			t.Fatal(err)
		}
		if decided {
			if err := op.Advance(ctx, next.Time+1, &em); err != nil {
				t.Fatal(err)
			}
		}
		s.save(t, op.(stream.DeltaSnapshotter), false)
		if d := s.puts - full; d < 1 || d > 4 {
			t.Fatalf("%s: one event put %d entries (the full checkpoint %d)", name, d, full)
		}
	}
}

// Absence's queue is compacted once cancelled starts outnumber the pending
// ones: its entries, by arrival sequence, survive it.
func TestDeltaAbsenceCompaction(t *testing.T) {
	fresh := deltaFactories()["absence"]
	op := fresh()
	ctx := context.Background()
	var em stream.Emitter
	var s deltaStore
	id := int64(0)
	at := func(cust, track, sec int64) stream.Event {
		id++
		return play{id: id, cust: cust, track: track, t: base + sec*int64(time.Second)}.event(id)
	}
	for round := range int64(4) {
		// A start that stays pending, then 6000 starts of 200 keys, which
		// their keys' ends cancel: the dead records lie behind a pending
		// one, and outnumber the pending ones.
		evs := []stream.Event{at(1000+round, 2, round*100)}
		for i := range int64(6000) {
			evs = append(evs, at(i%200, 2, round*100+1+i/1000))
		}
		for k := range int64(200) {
			evs = append(evs, at(k, 0, round*100+20))
		}
		if err := op.Process(ctx, evs, &em); err != nil {
			t.Fatal(err)
		}
		if err := op.Advance(ctx, base+(round*100+50)*int64(time.Second), &em); err != nil {
			t.Fatal(err)
		}
		s.save(t, op.(stream.DeltaSnapshotter), round == 0)
		want, _ := op.Snapshot()
		n := fresh()
		if err := n.(stream.DeltaSnapshotter).RestoreDelta(s.base, s.kvs()); err != nil {
			t.Fatal(err)
		}
		if got, _ := n.Snapshot(); !bytes.Equal(got, want) {
			t.Fatalf("round %d: the state restored from deltas differs (%d vs %d bytes)", round, len(got), len(want))
		}
		if round%2 == 1 {
			op = n
		}
	}
}

// Every stateful operator checkpoints incrementally: one that did not
// would silently fall back to whole snapshots of its state.
func TestEveryOperatorDeltas(t *testing.T) {
	for name, fresh := range snapFactories() {
		if _, ok := fresh().(stream.DeltaSnapshotter); !ok {
			t.Errorf("%s does not implement stream.DeltaSnapshotter", name)
		}
	}
}
