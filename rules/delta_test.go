package rules

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// Cooldowns checkpointed incrementally at random points restore to the
// state they were in: started, expired and shed entries all tracked.
func TestCooldownDeltasRestore(t *testing.T) {
	for seed := range uint64(60) {
		r := rand.New(rand.NewPCG(seed, 3))
		en := demoEngine(t, EngineConfig{IDField: "event_id"})
		entries := map[string][]byte{}
		full := true
		at := time.Duration(0)
		for step := range 60 {
			switch r.IntN(6) {
			case 0:
				if err := en.Advance(context.Background(), t0.Add(at-time.Duration(r.IntN(30))*time.Hour).UnixNano(), nil); err != nil {
					t.Fatal(err)
				}
			case 1:
				en.Shed(0.3)
				process(t, en) // a shed applies at the next call
			default:
				var evs []stream.Event
				for range 1 + r.IntN(5) {
					at += time.Duration(r.IntN(120)) * time.Minute
					cust := int64(r.IntN(12))
					evs = append(evs, enriched(int64(step*10+len(evs)), cust, 3, at, customer(cust, 1, 1, stream.Int(1))))
				}
				process(t, en, evs...)
			}
			if r.IntN(3) > 0 {
				continue
			}
			d := stream.DeltaPart{Full: full}
			base, err := en.SnapshotDelta(&d)
			if err != nil {
				t.Fatal(err)
			}
			full, entries = false, stream.ApplyDelta(entries, &d)
			var kvs []stream.KV
			for k, v := range entries {
				kvs = append(kvs, stream.KV{Key: []byte(k), Value: v})
			}
			fresh := demoEngine(t, EngineConfig{IDField: "event_id"})
			if err := fresh.RestoreDelta(base, kvs); err != nil {
				t.Fatal(err)
			}
			want, _ := en.Snapshot()
			got, _ := fresh.Snapshot()
			if !bytes.Equal(want, got) {
				t.Fatalf("seed %d step %d: restored %d bytes of cooldowns, want %d", seed, step, len(got), len(want))
			}
			if r.IntN(2) == 0 {
				en = fresh // go on from the restored engine
			}
		}
	}
}
