package window_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// Order releases every distinct event once, in (time, id) order, whatever
// the arrival order, including events that arrive within the lateness.
func TestOrderOracle(t *testing.T) {
	for seed := range uint64(100) {
		r := rand.New(rand.NewPCG(seed, 3))
		ps := randomPlays(r, 10+r.IntN(80), 3*time.Hour)
		var want []string
		for _, p := range dedupPlays(ps) {
			want = append(want, fmt.Sprintf("%d@%d", p.id, p.t-base))
		}
		lateness := time.Duration(r.IntN(2)) * 15 * time.Minute
		op := must(window.NewOrder(window.OrderConfig{Dedup: "event_id", AllowedLateness: lateness}))
		res, st := drive(t, r, op, arrival(r, ps, 0.3, bound+lateness), bound)
		var got []string
		for _, ev := range res {
			got = append(got, fmt.Sprintf("%d@%d", ev.Get("event_id").Int(), ev.Time-base))
		}
		diff(t, fmt.Sprintf("seed %d", seed), got, want)
		if st.Late != 0 || st.Emitted != int64(len(want)) {
			t.Fatalf("seed %d: stats %+v", seed, st)
		}
	}
}

// Dedup passes each id exactly once, at its first delivery.
func TestDedupOracle(t *testing.T) {
	for seed := range uint64(100) {
		r := rand.New(rand.NewPCG(seed, 5))
		ps := randomPlays(r, 10+r.IntN(80), 3*time.Hour)
		evs := arrival(r, ps, 0.5, bound)
		op := must(window.NewDedup(window.DedupConfig{Field: "event_id"}))
		res, st := drive(t, r, op, evs, bound)
		seen := map[int64]bool{}
		for _, ev := range res {
			id := ev.Get("event_id").Int()
			if seen[id] {
				t.Fatalf("seed %d: id %d passed twice", seed, id)
			}
			seen[id] = true
		}
		if len(seen) != len(ps) || st.Duplicates != int64(len(evs)-len(ps)) {
			t.Fatalf("seed %d: %d ids passed of %d, stats %+v", seed, len(seen), len(ps), st)
		}
		if st.ActiveKeys != 0 {
			t.Fatalf("seed %d: %d ids remembered after the final watermark", seed, st.ActiveKeys)
		}
	}
}

// The dedup memory holds ids only while they are within the lateness, and
// at most MaxIDs of them (earliest arrivals evicted first).
func TestDedupBounds(t *testing.T) {
	ctx := context.Background()
	op := must(window.NewDedup(window.DedupConfig{Field: "event_id", MaxIDs: 2}))
	var out stream.Emitter
	evs := playsAt(1, 1, 0, time.Minute, 2*time.Minute) // ids 1100, 1101, 1102
	_ = op.Process(ctx, evs, &out)
	if st := op.Stats(); st.Evictions != 1 || st.ActiveKeys != 2 {
		t.Fatalf("stats %+v", st)
	}
	_ = op.Process(ctx, evs[1:], &out) // remembered: dropped
	_ = op.Process(ctx, evs[:1], &out) // evicted: passes again
	if st := op.Stats(); st.Duplicates != 2 || len(out.Events()) != 4 {
		t.Fatalf("stats %+v, %d passed", st, len(out.Events()))
	}
	// Remembered now: 1102 (12:02), then 1100 (12:00, re-admitted after its
	// eviction, which evicted 1101). Ids leave in arrival order once their
	// time is behind the watermark: 1100 waits behind 1102.
	_ = op.Advance(ctx, at(90*time.Second).UnixNano(), &out)
	if st := op.Stats(); st.ActiveKeys != 2 || st.Evictions != 2 {
		t.Fatalf("stats %+v", st)
	}
	_ = op.Advance(ctx, at(150*time.Second).UnixNano(), &out)
	if st := op.Stats(); st.ActiveKeys != 0 {
		t.Fatalf("ids behind the watermark must be forgotten, stats %+v", st)
	}
	_ = op.Process(ctx, evs[:1], &out)
	if st := op.Stats(); st.Late != 1 {
		t.Fatalf("an event behind the watermark is late, stats %+v", st)
	}
}

func TestCountWithinBounds(t *testing.T) {
	cfg := cwCfg(false)
	cfg.MaxKeys = 2
	op := must(window.NewCountWithin(cfg))
	var evs []stream.Event
	for track := range int64(3) {
		evs = append(evs, playsAt(1, track, time.Duration(track)*time.Minute)...)
	}
	run(t, op, evs, at(10*time.Minute).UnixNano())
	if st := op.Stats(); st.ActiveKeys != 2 || st.Evictions != 1 {
		t.Fatalf("stats %+v", st)
	}
	// TTL: once the watermark is more than Within past a key's last event,
	// its state goes.
	run(t, op, nil, at(33*time.Minute).UnixNano())
	if st := op.Stats(); st.ActiveKeys != 0 || st.Expired != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestWindowBounds(t *testing.T) {
	cfg := winCfg()
	cfg.MaxKeys = 1
	op := must(window.NewTumbling(window.TumblingConfig{WindowConfig: cfg, Size: time.Hour}))
	evs := append(playsAt(1, 1, 0), playsAt(2, 1, time.Minute)...)
	res := run(t, op, evs, at(0).UnixNano())
	// Key 2 evicted key 1's window, which fired early.
	if st := op.Stats(); len(res) != 1 || res[0].Window.Key != "1" || st.Evictions != 1 || st.ActiveKeys != 1 {
		t.Fatalf("results %v, stats %+v", res, st)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, err := range []error{
		second(window.NewCountWithin(window.CountWithinConfig{})),
		second(window.NewTumbling(window.TumblingConfig{})),
		second(window.NewSliding(window.SlidingConfig{WindowConfig: winCfg(), Size: time.Minute, Slide: time.Hour})),
		second(window.NewSessions(window.SessionConfig{WindowConfig: window.WindowConfig{Name: "s", KeyBy: []string{"a"},
			Aggs: []window.Aggregate{{Name: "x", Kind: window.AggSum}}}, Gap: time.Minute})),
		second(window.NewDedup(window.DedupConfig{})),
		second(window.NewOrder(window.OrderConfig{AllowedLateness: -1})),
	} {
		if err == nil {
			t.Fatal("invalid config accepted")
		}
	}
}

func second[T any](_ T, err error) error { return err }

// Keys of any kinds: strings, mixed and more than two fields all intern and
// print as their values joined with '|'.
func TestKeyKinds(t *testing.T) {
	for _, keyBy := range [][]string{{"listening_zip_code"}, {"customer_id", "listening_zip_code"}, {"customer_id", "track_id", "ismobile"}} {
		op := must(window.NewCountWithin(window.CountWithinConfig{Name: "k", KeyBy: keyBy, Count: 2, Within: time.Hour}))
		res := run(t, op, playsAt(1, 2, 0, time.Minute), stream.MaxWatermark)
		want := map[int]string{1: "10001", 2: "1|10001", 3: "1|2|0"}[len(keyBy)]
		if len(res) != 1 || res[0].Window.Key != want {
			t.Fatalf("KeyBy %v: %+v", keyBy, res)
		}
	}
}

// Beyond MaxPending the oldest half is released early, in order, counted
// as evictions; events older than what went out are then late.
func TestMaxPending(t *testing.T) {
	ctx := context.Background()
	op := must(window.NewOrder(window.OrderConfig{MaxPending: 4}))
	var out stream.Emitter
	evs := playsAt(1, 1, 5*time.Minute, time.Minute, 4*time.Minute, 2*time.Minute, 3*time.Minute)
	_ = op.Process(ctx, evs, &out)
	got := out.Events()
	if len(got) != 3 || got[0].Time != at(time.Minute).UnixNano() || got[2].Time != at(3*time.Minute).UnixNano() {
		t.Fatalf("forced release: %d events %+v", len(got), got)
	}
	if st := op.Stats(); st.Evictions != 3 || st.Pending != 2 {
		t.Fatalf("stats %+v", st)
	}
	_ = op.Process(ctx, playsAt(2, 1, 2*time.Minute), &out)
	if st := op.Stats(); st.Late != 1 {
		t.Fatalf("an event behind the forced release must be late: %+v", st)
	}

	cfg := cwCfg(false)
	cfg.MaxPending = 2
	cw := must(window.NewCountWithin(cfg))
	var res stream.Emitter
	_ = cw.Process(ctx, playsAt(1, 1, 0, time.Minute, 2*time.Minute), &res)
	if st := cw.Stats(); len(res.Events()) != 0 || st.Evictions != 2 || st.Pending != 1 {
		t.Fatalf("count-within forced decision: %d results, stats %+v", len(res.Events()), st)
	}
	_ = cw.Advance(ctx, stream.MaxWatermark, &res)
	if len(res.Events()) != 1 {
		t.Fatalf("the match must still be found, got %d", len(res.Events()))
	}
}

// Stats may be read while another goroutine drives the operator.
func TestStatsConcurrentRead(t *testing.T) {
	ctx := context.Background()
	for name, fresh := range snapFactories() {
		op := fresh()
		st := op.(interface{ Stats() window.Stats })
		done := make(chan struct{})
		go func() {
			defer close(done)
			var out stream.Emitter
			// Three customers, each playing a run of tracks, a minute apart:
			// input every operator (windows and patterns) has results for.
			for i := range 50 {
				p := gen.Play{EventID: int64(i), CustomerID: int64(i % 3), TrackID: int64(i % 10),
					Time: at(time.Duration(i) * time.Minute), Zip: "10001"}
				_ = op.Process(ctx, gen.PlayEvents("c", []gen.Play{p}), &out)
				_ = op.Advance(ctx, at(time.Duration(i)*time.Minute).UnixNano(), &out)
			}
			_ = op.Advance(ctx, stream.MaxWatermark, &out)
		}()
		for range 100 {
			_ = st.Stats()
		}
		<-done
		if s := st.Stats(); s.Emitted == 0 && !sameKind(name, "count_within") {
			t.Fatalf("%s: nothing emitted: %+v", name, s)
		}
	}
}
