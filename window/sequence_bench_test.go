package window_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// idParity is a step: the play's event id is even (0) or odd (1), a coin
// toss per play.
func idParity(parity int64) window.Predicate {
	return func(ev *stream.Event) (bool, error) { return ev.Fields[gen.PlayEventID].Int()&1 == parity, nil }
}

// BenchmarkSequence: a sequence of 2 steps (a play with an even event id,
// then one with an odd id) of a (customer, track) within 30 minutes, on the
// synthetic plays of BenchmarkCountWithin (1M distinct keys, 3M plays per
// hour of event time). Run it with -benchtime 3000000x for one full hour,
// next to BenchmarkCountWithin. bytes/key is the heap the operator holds
// after the last play divided by its active keys. The predicates are Go
// functions: a compiled CEL condition costs more per call.
func BenchmarkSequence(b *testing.B) {
	ps := syntheticPlays(cwEvents, cwKeys, 2*time.Hour)
	var before uint64
	var bytesPerKey, active float64
	results := runOps(b, func() stream.Operator {
		before = heapAlloc()
		return must(window.NewSequence(window.SequenceConfig{
			PatternConfig: window.PatternConfig{Name: "even_then_odd", KeyBy: []string{"customer_id", "track_id"},
				Within: 30 * time.Minute, Dedup: "event_id"},
			Steps: []window.Predicate{idParity(0), idParity(1)},
		}))
	}, ps, time.Second, func(op stream.Operator) {
		active = float64(op.(*window.Sequence).Stats().ActiveKeys)
		bytesPerKey = float64(heapAlloc()-before) / active
		runtime.KeepAlive(op)
	})
	b.ReportMetric(bytesPerKey, "bytes/key")
	b.ReportMetric(active, "active-keys")
	b.ReportMetric(float64(results), "matches")
}
