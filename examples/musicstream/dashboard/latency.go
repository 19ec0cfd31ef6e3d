package dashboard

import (
	"sort"

	"github.com/rulestream/rulestream/stream"
)

// LatencyRow is one rule's decision latency as the panel shows it: from
// the arrival in the process of the event the rule decided on to Redis's
// acknowledgement of its emission (stream.Pipeline.DecisionLatency).
type LatencyRow struct {
	Rule  string  `json:"rule"`
	Count int64   `json:"count"`
	P50ms float64 `json:"p50ms"` // upper bound of the histogram bucket holding it
	P99ms float64 `json:"p99ms"`
	MaxMs float64 `json:"maxMs"`
}

// latencySource is a pipeline keeping decision-latency histograms.
type latencySource interface {
	DecisionLatency() map[string]stream.LatencySnapshot
}

// latency reads the pipeline's decision latencies, by rule; nil when the
// pipeline keeps none.
func (d *Dashboard) latency() []LatencyRow {
	ls, ok := d.cfg.Pipeline.(latencySource)
	if !ok {
		return nil
	}
	ms := func(s stream.LatencySnapshot, q float64) float64 { return float64(s.Quantile(q).Microseconds()) / 1000 }
	rows := []LatencyRow{}
	for rule, s := range ls.DecisionLatency() {
		rows = append(rows, LatencyRow{Rule: rule, Count: s.Count, P50ms: ms(s, 0.5), P99ms: ms(s, 0.99),
			MaxMs: float64(s.Max.Microseconds()) / 1000})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Rule < rows[j].Rule })
	return rows
}
