package window_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// seqSnapCases are sequences whose snapshots the tests take: int keys with
// three steps (candidates past step 1, in lists), string and encoded keys.
var seqSnapCases = map[string]seqCase{
	"ints3":   {keyBy: []string{"user"}, masks: []int{3, 6, 12}, errs: []bool{false, false, true}, within: 40 * time.Minute},
	"string2": {keyBy: []string{"name"}, masks: []int{1, 2}, errs: []bool{false, false}, within: 30 * time.Minute},
	"enc2":    {keyBy: []string{"user", "name"}, masks: []int{5, 10}, errs: []bool{false, false}, within: 50 * time.Minute},
}

// seqSnapshots returns, per case, a snapshot of a busy operator: keys
// with several candidates, events pending the watermark.
func seqSnapshots(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	for name, c := range seqSnapCases {
		r := rand.New(rand.NewPCG(3, 3))
		op := startSeq(t, c.config())
		var em stream.Emitter
		ctx := context.Background()
		_ = op.Process(ctx, sevArrival(r, randomSevs(r, 80, 2*time.Hour), 0.2, bound), &em)
		_ = op.Advance(ctx, base+int64(time.Hour), &em)
		if st := op.Stats(); st.ActiveKeys == 0 || st.Pending == 0 {
			t.Fatalf("%s: not a busy state: %+v", name, st)
		}
		data, err := op.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		out[name] = data
	}
	return out
}

func TestSequenceSnapshotRoundTripAndCorruption(t *testing.T) {
	snaps := seqSnapshots(t)
	ctx := context.Background()
	for name, data := range snaps {
		c := seqSnapCases[name]
		op := startSeq(t, c.config())
		if err := op.Restore(data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if again, _ := op.Snapshot(); !bytes.Equal(again, data) {
			t.Fatalf("%s: the restored state's snapshot differs", name)
		}
		for i := range data {
			if err := op.Restore(data[:i]); !errors.Is(err, window.ErrCorrupt) {
				t.Fatalf("%s: restore of %d of %d bytes: %v", name, i, len(data), err)
			}
		}
		for _, bad := range [][]byte{append(slices.Clone(data), 0), append([]byte{'R', 'S', 'W', data[3], 99}, data[5:]...)} {
			if err := op.Restore(bad); !errors.Is(err, window.ErrCorrupt) {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if again, _ := op.Snapshot(); !bytes.Equal(again, data) {
			t.Fatalf("%s: a failed restore changed the state", name)
		}
		for other, od := range snaps {
			if seqSnapCases[other].keyBy[0] == c.keyBy[0] || len(seqSnapCases[other].masks) == len(c.masks) {
				continue
			}
			if err := startSeq(t, c.config()).Restore(od); err == nil {
				t.Fatalf("%s restored a snapshot of %s (another number of steps)", name, other)
			}
		}
		// The restored operator goes on: everything it holds is decided and
		// expires at the final watermark.
		var out stream.Emitter
		_ = op.Advance(ctx, stream.MaxWatermark, &out)
		if st := op.Stats(); st.ActiveKeys != 0 || st.Pending != 0 {
			t.Fatalf("%s: %+v", name, st)
		}
	}
	cw, _ := must(window.NewCountWithin(cwCfg(false))).Snapshot()
	if err := startSeq(t, seqSnapCases["ints3"].config()).Restore(cw); !errors.Is(err, window.ErrCorrupt) {
		t.Fatalf("restored a count-within snapshot: %v", err)
	}
}

// FuzzSequenceRestore: a corrupt snapshot gives an error, never a panic; a
// state that restores snapshots to the same bytes and keeps working.
func FuzzSequenceRestore(f *testing.F) {
	for _, data := range seqSnapshots(f) {
		f.Add(data)
	}
	r := rand.New(rand.NewPCG(5, 5))
	evs := sevArrival(r, randomSevs(r, 30, 2*time.Hour), 0.2, bound)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range seqSnapCases {
			op := startSeq(t, c.config())
			if err := op.Restore(data); err != nil {
				if !errors.Is(err, window.ErrCorrupt) {
					t.Fatalf("an error that does not wrap ErrCorrupt: %v", err)
				}
				continue
			}
			snap, err := op.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			again := startSeq(t, c.config())
			if err := again.Restore(snap); err != nil {
				t.Fatalf("restore of a restored state's snapshot: %v", err)
			}
			if b, _ := again.Snapshot(); !bytes.Equal(b, snap) {
				t.Fatal("the snapshot of a restored state does not round-trip")
			}
			var out stream.Emitter
			_ = op.Process(ctx, slices.Clone(evs), &out)
			_ = op.Advance(ctx, base+int64(time.Hour), &out)
			_ = op.Advance(ctx, stream.MaxWatermark, &out)
			if st := op.Stats(); st.ActiveKeys != 0 || st.Pending != 0 {
				t.Fatalf("state left after the final watermark: %+v", st)
			}
		}
	})
}

// FuzzSequenceOps feeds odd events (no schema, fields of any kind or
// missing, extreme times) and watermarks: no panic, and the snapshot
// round-trips at every point.
func FuzzSequenceOps(f *testing.F) {
	f.Add([]byte{1, 0, 1, 2, 1, 5, 1, 2, 1, 10, 1, 2, 5, 20, 0, 2, 2, 3, 4, 0, 5, 0, 0, 1})
	f.Add([]byte{2, 1, 1, 1, 4, 1, 1, 1, 7, 250, 1, 1, 10, 0, 0, 0})
	f.Add([]byte{1, 0, 1, 0, 1, 1, 1, 1, 1, 2, 1, 0, 1, 3, 1, 1, 1, 4, 1, 2, 5, 9, 0, 2, 1, 30, 1, 1})
	track := func(v int64) window.Predicate {
		return func(ev *stream.Event) (bool, error) { return ev.Get("track_id").Int() == v, nil }
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, wms := fuzzEvents(data)
		cfg := window.SequenceConfig{PatternConfig: window.PatternConfig{Name: "f", KeyBy: []string{"customer_id"},
			Within: 3 * time.Minute, Dedup: "event_id", MaxKeys: 2, MaxPending: 6}, Steps: []window.Predicate{track(0), track(1), track(2)}, MaxMatches: 2}
		op := must(window.NewSequence(cfg))
		var out stream.Emitter
		for i := 0; i < len(evs); i += 3 {
			_ = op.Process(ctx, evs[i:min(i+3, len(evs))], &out)
			if len(wms) > 0 {
				_ = op.Advance(ctx, wms[0], &out)
				wms = append(wms[1:], wms[0])
			}
			snap, err := op.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			n := must(window.NewSequence(cfg))
			if err := n.Restore(snap); err != nil {
				t.Fatalf("restore of its own snapshot: %v", err)
			}
			if again, _ := n.Snapshot(); !bytes.Equal(snap, again) {
				t.Fatal("snapshot does not round-trip")
			}
		}
		_ = op.Advance(ctx, stream.MaxWatermark, &out)
		if st := op.Stats(); st.ActiveKeys != 0 || st.Pending != 0 {
			t.Fatalf("state left after the final watermark: %+v", st)
		}
	})
}
