package window_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// BenchmarkCountWithinEarly: BenchmarkCountWithin's workload (3 plays of a
// (customer, track) within 30 minutes, 1M keys, 3M plays per hour, in
// order, watermark 1 s behind) without and with Early, in the same run.
// bytes/key is the heap the operator holds after the last play divided by
// its active keys (as in BenchmarkCountWithin: keys of the event-time
// state; Early's bookkeeping is in the heap too). Run it with -benchtime
// 3000000x for one full hour.
func BenchmarkCountWithinEarly(b *testing.B) {
	ps := syntheticPlays(cwEvents, cwKeys, 2*time.Hour)
	for _, early := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[early], func(b *testing.B) {
			var before uint64
			var bytesPerKey, active float64
			var st window.Stats
			results := runOps(b, func() stream.Operator {
				before = heapAlloc()
				return must(window.NewCountWithin(window.CountWithinConfig{Name: "repeats", KeyBy: []string{"customer_id", "track_id"},
					Count: 3, Within: 30 * time.Minute, Dedup: "event_id", Early: early}))
			}, ps, time.Second, func(op stream.Operator) {
				st = op.(*window.CountWithin).Stats()
				active = float64(st.ActiveKeys)
				bytesPerKey = float64(heapAlloc()-before) / active
				runtime.KeepAlive(op)
			})
			b.ReportMetric(bytesPerKey, "bytes/key")
			b.ReportMetric(float64(results), "results")
			b.ReportMetric(float64(st.Early), "early")
		})
	}
}

// BenchmarkCountWithinGenEarly: BenchmarkCountWithinGen's workload (the
// music-stream example's "repeats" window, no dedup, on its generated
// plays: up to 2 minutes out of order, 1% re-delivered, watermark 5
// minutes behind) without and with Early, in the same run. Run with
// -benchtime 1000000x for the 1M plays once.
func BenchmarkCountWithinGenEarly(b *testing.B) {
	d := gen.Generate(gen.Config{Seed: 1, Plays: 1_000_000, Repeats: 5000, NearMisses: 1000,
		Duplicates: 0.01, MaxDelay: 2 * time.Minute})
	data := compact(d.Plays)
	for _, early := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[early], func(b *testing.B) {
			var st window.Stats
			results := runOps(b, func() stream.Operator {
				return must(window.NewCountWithin(window.CountWithinConfig{Name: "repeats",
					KeyBy: []string{"customer_id", "track_id"}, Count: 3, Within: 30 * time.Minute, Early: early}))
			}, data, 5*time.Minute, func(op stream.Operator) { st = op.(*window.CountWithin).Stats() })
			b.ReportMetric(float64(results), "results")
			b.ReportMetric(float64(st.Early), "early")
			b.ReportMetric(float64(st.Corrections), "corrections")
		})
	}
}

// BenchmarkPatternsEarly: BenchmarkSequence, BenchmarkNewValue and
// BenchmarkDistinctCount (their configurations and synthetic plays, 1M
// keys, in order, watermark 1 s behind) without and with Early, in the same
// run. Run it with -benchtime 3000000x.
func BenchmarkPatternsEarly(b *testing.B) {
	pairs := syntheticPlays(cwEvents, cwKeys, 2*time.Hour)
	customers := customerPlays(cwEvents, cwKeys, 2*time.Hour)
	pat := func(name string, keyBy ...string) window.PatternConfig {
		return window.PatternConfig{Name: name, KeyBy: keyBy, Within: 30 * time.Minute, Dedup: "event_id"}
	}
	ops := []struct {
		name string
		data plays
		op   func(early bool) stream.Operator
	}{
		{"sequence", pairs, func(early bool) stream.Operator {
			return must(window.NewSequence(window.SequenceConfig{PatternConfig: pat("even_then_odd", "customer_id", "track_id"),
				Steps: []window.Predicate{idParity(0), idParity(1)}, Early: early}))
		}},
		{"new_value", pairs, func(early bool) stream.Operator {
			return must(window.NewNewValue(window.NewValueConfig{PatternConfig: pat("new_track", "customer_id"), Field: "track_id", Early: early}))
		}},
		{"distinct_count", customers, func(early bool) stream.Operator {
			return must(window.NewDistinctCount(window.DistinctCountConfig{PatternConfig: pat("hopper", "customer_id"),
				Field: "track_id", Count: 3, Early: early}))
		}},
	}
	for _, o := range ops {
		for _, early := range []bool{false, true} {
			b.Run(o.name+"/"+map[bool]string{false: "off", true: "on"}[early], func(b *testing.B) {
				var st window.Stats
				results := runOps(b, func() stream.Operator { return o.op(early) }, o.data, time.Second,
					func(op stream.Operator) { st = op.(statser).Stats() })
				b.ReportMetric(float64(results), "results")
				b.ReportMetric(float64(st.Early), "early")
			})
		}
	}
}
