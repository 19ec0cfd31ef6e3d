package window_test

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// customerPlays: n plays in event-time order over span, each by one of
// customers drawn uniformly, of one of 100 tracks.
func customerPlays(n, customers int, span time.Duration) plays {
	r := rand.New(rand.NewPCG(43, 43))
	ps := make([]cplay, n)
	step := int64(span) / int64(n)
	for i := range ps {
		ps[i] = cplay{id: int64(i), cust: r.Int64N(int64(customers)), track: r.Int64N(100), t: base + int64(i)*step}
	}
	return plays{ps: ps, zips: []string{"10001"}}
}

// benchPatternOp runs a pattern on customerPlays (1M customers, 3M plays
// per hour of event time) like BenchmarkCountWithin: bytes/key is the heap
// the operator holds after the last play divided by its active keys.
func benchPatternOp(b *testing.B, newOp func() stream.Operator) {
	ps := customerPlays(cwEvents, cwKeys, 2*time.Hour)
	var before uint64
	var bytesPerKey, active float64
	results := runOps(b, func() stream.Operator {
		before = heapAlloc()
		return newOp()
	}, ps, time.Second, func(op stream.Operator) {
		active = float64(op.(interface{ Stats() window.Stats }).Stats().ActiveKeys)
		bytesPerKey = float64(heapAlloc()-before) / active
		runtime.KeepAlive(op)
	})
	b.ReportMetric(bytesPerKey, "bytes/key")
	b.ReportMetric(active, "active-keys")
	b.ReportMetric(float64(results), "results")
}

// BenchmarkAbsence: a play of tracks 0-29 (30% of plays: "cart") with no
// play of tracks 90-99 (10%: "purchase") by the customer within 30
// minutes, over 1M customers. The predicates are Go functions (a compiled
// CEL condition costs more). Run it with -benchtime 6000000x for the whole
// two hours.
func BenchmarkAbsence(b *testing.B) {
	start := func(ev *stream.Event) (bool, error) { return ev.Fields[2].Int() < 30, nil }
	end := func(ev *stream.Event) (bool, error) { return ev.Fields[2].Int() >= 90, nil }
	benchPatternOp(b, func() stream.Operator {
		return must(window.NewAbsence(window.AbsenceConfig{PatternConfig: window.PatternConfig{Name: "abandoned",
			KeyBy: []string{"customer_id"}, Within: 30 * time.Minute, Dedup: "event_id"}, Start: start, End: end}))
	})
}

// BenchmarkDistinctCount: 3 distinct tracks played by a customer within 30
// minutes, over 1M customers. Run it with -benchtime 6000000x for the whole
// two hours.
func BenchmarkDistinctCount(b *testing.B) {
	benchPatternOp(b, func() stream.Operator {
		return must(window.NewDistinctCount(window.DistinctCountConfig{PatternConfig: window.PatternConfig{Name: "hopper",
			KeyBy: []string{"customer_id"}, Within: 30 * time.Minute, Dedup: "event_id"}, Field: "track_id", Count: 3}))
	})
}
