package window_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

type snapOp interface {
	stream.Operator
	stream.Snapshotter
}

func snapFactories() map[string]func() snapOp {
	lateCfg := winCfg()
	lateCfg.AllowedLateness = 15 * time.Minute
	lateCfg.Aggs = append(slices.Clone(testAggs), window.Custom[meanAcc]("mean", "track_id", mean{}))
	return map[string]func() snapOp{
		"tumbling": func() snapOp {
			return must(window.NewTumbling(window.TumblingConfig{WindowConfig: lateCfg, Size: 30 * time.Minute}))
		},
		"sliding": func() snapOp {
			return must(window.NewSliding(window.SlidingConfig{WindowConfig: lateCfg, Size: 30 * time.Minute, Slide: 10 * time.Minute}))
		},
		"session": func() snapOp {
			return must(window.NewSessions(window.SessionConfig{WindowConfig: lateCfg, Gap: 7 * time.Minute}))
		},
		"count_within": func() snapOp { return must(window.NewCountWithin(cwCfg(false))) },
		"order":        func() snapOp { return must(window.NewOrder(window.OrderConfig{Dedup: "event_id"})) },
		"dedup":        func() snapOp { return must(window.NewDedup(window.DedupConfig{Field: "event_id"})) },
		"sequence": func() snapOp {
			return must(window.NewSequence(window.SequenceConfig{PatternConfig: patCfg(), Steps: []window.Predicate{trackBelow(5), trackBelow(9)}}))
		},
		"absence": func() snapOp {
			return must(window.NewAbsence(window.AbsenceConfig{PatternConfig: patCfg(), Start: trackBelow(3), End: trackBelow(1)}))
		},
		"new_value": func() snapOp {
			return must(window.NewNewValue(window.NewValueConfig{PatternConfig: patCfg(), Field: "track_id"}))
		},
		"distinct_count": func() snapOp {
			return must(window.NewDistinctCount(window.DistinctCountConfig{PatternConfig: patCfg(), Field: "track_id", Count: 3}))
		},
		"count_within_early": func() snapOp { return must(window.NewCountWithin(cwEarly(false))) },
		"sequence_early": func() snapOp {
			return must(window.NewSequence(window.SequenceConfig{PatternConfig: patCfg(), Steps: []window.Predicate{trackBelow(5), trackBelow(9)},
				Early: true}))
		},
		"new_value_early": func() snapOp {
			return must(window.NewNewValue(window.NewValueConfig{PatternConfig: patCfg(), Field: "track_id", Early: true}))
		},
		"distinct_count_early": func() snapOp {
			return must(window.NewDistinctCount(window.DistinctCountConfig{PatternConfig: patCfg(), Field: "track_id", Count: 3, Early: true}))
		},
	}
}

// sameKind reports whether two factories of snapFactories build one
// operator, with and without Early: each restores the other's snapshots
// (an operator without Early drops the early bookkeeping).
func sameKind(a, b string) bool {
	return strings.TrimSuffix(a, "_early") == strings.TrimSuffix(b, "_early")
}

// patCfg configures the patterns of the snapshot tests: per customer,
// within 30 minutes, dedup by event_id.
func patCfg() window.PatternConfig {
	return window.PatternConfig{Name: "p", KeyBy: []string{"customer_id"}, Within: 30 * time.Minute, Dedup: "event_id"}
}

// trackBelow is a predicate: the play's track id is below n.
func trackBelow(n int64) window.Predicate {
	return func(ev *stream.Event) (bool, error) { return ev.Get("track_id").Int() < n, nil }
}

// restoring wraps an operator and, after the cut-th call, replaces it by a
// fresh instance restored from a snapshot, as a restart would.
type restoring struct {
	snapOp
	t     *testing.T
	fresh func() snapOp
	calls int
	cut   int
	snaps [][]byte
}

func (r *restoring) step() {
	r.calls++
	if r.calls != r.cut {
		return
	}
	data, err := r.snapOp.Snapshot()
	if err != nil {
		r.t.Fatal(err)
	}
	n := r.fresh()
	if err := n.Restore(data); err != nil {
		r.t.Fatalf("restore: %v", err)
	}
	again, _ := n.Snapshot()
	if !bytes.Equal(data, again) {
		r.t.Fatalf("snapshot of the restored state differs (%d vs %d bytes)", len(data), len(again))
	}
	r.snaps = append(r.snaps, data)
	r.snapOp = n
}

func (r *restoring) Process(ctx context.Context, in []stream.Event, out *stream.Emitter) error {
	defer r.step()
	return r.snapOp.Process(ctx, in, out)
}

func (r *restoring) Advance(ctx context.Context, wm int64, out *stream.Emitter) error {
	defer r.step()
	return r.snapOp.Advance(ctx, wm, out)
}

// TestSnapshotRestore restarts each operator from a snapshot midway and
// checks that the results equal an uninterrupted run.
func TestSnapshotRestore(t *testing.T) {
	for name, fresh := range snapFactories() {
		t.Run(name, func(t *testing.T) {
			for seed := range uint64(40) {
				r := rand.New(rand.NewPCG(seed, 9))
				ps := randomPlays(r, 20+r.IntN(60), 3*time.Hour)
				evs := arrival(r, ps, 0.3, bound+10*time.Minute)
				want, _ := drive(t, rand.New(rand.NewPCG(seed, 1)), fresh(), evs, bound)
				rs := &restoring{snapOp: fresh(), t: t, fresh: fresh, cut: 1 + r.IntN(20)}
				got, _ := drive(t, rand.New(rand.NewPCG(seed, 1)), rs, evs, bound)
				if len(rs.snaps) == 0 {
					continue
				}
				g, w := resultLines(got), resultLines(want)
				diff(t, fmt.Sprintf("seed %d cut %d", seed, rs.cut), g, w)
			}
		})
	}
}

func resultLines(evs []stream.Event) []string {
	var ls []string
	for _, ev := range evs {
		l := fmt.Sprintf("%s %d %d", ev.Key, ev.Time, ev.Get("event_id").Int())
		if ev.Window != nil {
			l += " " + windowLine(ev.Window)
		}
		ls = append(ls, l)
	}
	return ls
}

// seedSnapshots returns snapshots of every operator in a busy state.
func seedSnapshots(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	r := rand.New(rand.NewPCG(1, 1))
	ps := randomPlays(r, 40, time.Hour)
	evs := arrival(r, ps, 0.3, bound)
	for name, fresh := range snapFactories() {
		op := fresh()
		var em stream.Emitter
		_ = op.Process(context.Background(), evs, &em)
		_ = op.Advance(context.Background(), base+int64(30*time.Minute), &em)
		data, err := op.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		out[name] = data
	}
	return out
}

func TestRestoreRejectsCorruptBytes(t *testing.T) {
	snaps := seedSnapshots(t)
	for name, fresh := range snapFactories() {
		data := snaps[name]
		for _, bad := range [][]byte{nil, data[:3], data[:len(data)-1], append(slices.Clone(data), 0),
			append([]byte{'R', 'S', 'W', data[3], 99}, data[5:]...)} {
			if err := fresh().Restore(bad); !errors.Is(err, window.ErrCorrupt) {
				t.Fatalf("%s: restore of %d corrupt bytes: %v", name, len(bad), err)
			}
		}
		for other, od := range snaps {
			if !sameKind(other, name) && fresh().Restore(od) == nil {
				t.Fatalf("%s restored a snapshot of %s", name, other)
			}
		}
	}
}

// FuzzRestore: corrupt snapshots give an error, never a panic, and a state
// that restores without error keeps working.
func FuzzRestore(f *testing.F) {
	for _, data := range seedSnapshots(f) {
		f.Add(data)
	}
	evs := playsAt(1, 1, 0, time.Minute, 2*time.Minute)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, fresh := range snapFactories() {
			op := fresh()
			if op.Restore(data) != nil {
				continue
			}
			var out stream.Emitter
			ctx := context.Background()
			_ = op.Process(ctx, slices.Clone(evs), &out)
			_ = op.Advance(ctx, base+int64(time.Hour), &out)
			_ = op.Advance(ctx, stream.MaxWatermark, &out)
			if _, err := op.Snapshot(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
