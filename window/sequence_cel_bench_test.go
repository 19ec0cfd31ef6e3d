package window_test

import (
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/rules"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// BenchmarkSequenceCEL is BenchmarkSequence with its two steps written as a
// job writes them, conditions compiled by rules: "native" are of the shape
// rules evaluates without the CEL interpreter (!event.ismobile, then
// event.ismobile: the bench data's ismobile is the parity of event_id, so
// the same steps as BenchmarkSequence), "interpreted" go through CEL's
// interpreter (event.event_id % 2 == 0, then == 1). What a sequence costs
// when its conditions come from a job file rather than from Go.
func BenchmarkSequenceCEL(b *testing.B) {
	env, err := rules.NewEnv(rules.EnvConfig{EventSchema: gen.PlaySchema})
	if err != nil {
		b.Fatal(err)
	}
	step := func(expr string) window.Predicate {
		f, err := env.NewFilter("step", expr, rules.FilterConfig{})
		if err != nil {
			b.Fatal(err)
		}
		return f.Match
	}
	for _, c := range []struct{ name, first, then string }{
		{"native", "!event.ismobile", "event.ismobile"},
		{"interpreted", "event.event_id % 2 == 0", "event.event_id % 2 == 1"},
	} {
		b.Run(c.name, func(b *testing.B) {
			ps := syntheticPlays(cwEvents, cwKeys, 2*time.Hour)
			results := runOps(b, func() stream.Operator {
				return must(window.NewSequence(window.SequenceConfig{
					PatternConfig: window.PatternConfig{Name: "even_then_odd", KeyBy: []string{"customer_id", "track_id"},
						Within: 30 * time.Minute, Dedup: "event_id"},
					Steps: []window.Predicate{step(c.first), step(c.then)},
				}))
			}, ps, time.Second, nil)
			b.ReportMetric(float64(results), "matches")
		})
	}
}
