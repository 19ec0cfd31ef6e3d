package window_test

import (
	"context"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// BenchmarkShed measures the pause of a shed: the Advance call that drops
// an eighth (the runner's first step) of an operator holding 1M keys (or
// windows, ids, buffered events). One op is one shed; the state is rebuilt
// outside the timer before each, which takes far longer than the shed: run
// it with -benchtime 5x.
func BenchmarkShed(b *testing.B) {
	const keys = 1 << 20
	ps := syntheticPlays(keys, 100*keys, time.Hour) // nearly every play a key of its own
	end := ps.ps[len(ps.ps)-1].t
	// Events of their own memory: operators keep what they buffer (the
	// batcher reuses its buffers).
	var evs []stream.Event
	for i := 0; i < len(ps.ps); i += batchLen {
		evs = append(evs, newBatcher().fill(ps.ps[i:min(i+batchLen, len(ps.ps))], ps.zips)...)
	}
	for _, bc := range []struct {
		name string
		op   func() stream.Operator
		wm   int64 // the watermark the state is built up to
	}{
		{"count_within", func() stream.Operator {
			return must(window.NewCountWithin(window.CountWithinConfig{Name: "repeats",
				KeyBy: []string{"customer_id", "track_id"}, Count: 3, Within: 24 * time.Hour}))
		}, end + 1},
		{"new_value", func() stream.Operator {
			return must(window.NewNewValue(window.NewValueConfig{PatternConfig: window.PatternConfig{Name: "nv",
				KeyBy: []string{"customer_id"}, Within: 24 * time.Hour}, Field: "track_id"}))
		}, end + 1},
		{"tumbling", func() stream.Operator { // every window ends at the same time
			return must(window.NewTumbling(window.TumblingConfig{Size: 24 * time.Hour, WindowConfig: window.WindowConfig{
				Name: "daily", KeyBy: []string{"customer_id", "track_id"}, Dedup: "event_id"}}))
		}, base},
		{"order", func() stream.Operator { return must(window.NewOrder(window.OrderConfig{Dedup: "event_id"})) }, base},
		{"dedup", func() stream.Operator { return must(window.NewDedup(window.DedupConfig{Field: "event_id"})) }, base},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			var out stream.Emitter
			var evicted int64
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				op := bc.op()
				for i := 0; i < len(evs); i += batchLen {
					if err := op.Process(ctx, evs[i:min(i+batchLen, len(evs))], &out); err != nil {
						b.Fatal(err)
					}
					out.Reset()
				}
				if err := op.Advance(ctx, bc.wm, &out); err != nil {
					b.Fatal(err)
				}
				out.Reset()
				before := op.(interface{ Stats() window.Stats }).Stats().Evictions
				op.(stream.Shedder).Shed(1.0 / 8)
				b.StartTimer()
				if err := op.Advance(ctx, bc.wm, &out); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				evicted = op.(interface{ Stats() window.Stats }).Stats().Evictions - before
				out.Reset()
				b.StartTimer()
			}
			b.ReportMetric(float64(evicted), "evicted/shed")
		})
	}
}
