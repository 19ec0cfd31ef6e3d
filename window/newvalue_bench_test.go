package window_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// BenchmarkNewValue: a track new to its customer within 30 minutes, over
// the synthetic plays of BenchmarkCountWithin (1M (customer, track) pairs:
// 1M entries of state). Run it with -benchtime 3000000x -cpu 1 beside
// BenchmarkCountWithin, as the figure is one core's.
func BenchmarkNewValue(b *testing.B) {
	ps := syntheticPlays(cwEvents, cwKeys, 2*time.Hour)
	var before uint64
	var bytesPerKey, active float64
	results := runOps(b, func() stream.Operator {
		before = heapAlloc()
		return must(window.NewNewValue(window.NewValueConfig{PatternConfig: window.PatternConfig{Name: "new_track",
			KeyBy: []string{"customer_id"}, Within: 30 * time.Minute, Dedup: "event_id"}, Field: "track_id"}))
	}, ps, time.Second, func(op stream.Operator) {
		active = float64(op.(*window.NewValue).Stats().ActiveKeys)
		bytesPerKey = float64(heapAlloc()-before) / active
		runtime.KeepAlive(op)
	})
	b.ReportMetric(bytesPerKey, "bytes/key")
	b.ReportMetric(active, "active-keys")
	b.ReportMetric(float64(results), "results")
}
