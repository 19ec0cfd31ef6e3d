package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rulestream/rulestream/stream"
)

// latencyPipeline is a StatsSource with decision-latency histograms.
type latencyPipeline struct {
	lat map[string]stream.LatencySnapshot
}

func (latencyPipeline) Name() string                                         { return "p" }
func (latencyPipeline) Stats() stream.Stats                                  { return stream.Stats{} }
func (l latencyPipeline) DecisionLatency() map[string]stream.LatencySnapshot { return l.lat }

// A pipeline's decision latencies are exported as a histogram per rule,
// its buckets stream.LatencyBuckets in seconds.
func TestDecisionLatencyHistogram(t *testing.T) {
	counts := make([]int64, len(stream.LatencyBuckets)+1)
	counts[7], counts[9] = 3, 1 // ≤12.8ms, ≤51.2ms
	p := latencyPipeline{lat: map[string]stream.LatencySnapshot{
		"upgrade_ad": {Counts: counts, Count: 4, Sum: 60 * time.Millisecond, Max: 40 * time.Millisecond}}}
	reg := prometheus.NewRegistry()
	if _, err := New(reg, p, Config{}); err != nil {
		t.Fatal(err)
	}
	n, err := testutil.GatherAndCount(reg, "rulestream_decision_latency_seconds")
	if err != nil || n != 1 {
		t.Fatalf("decision_latency_seconds series: %d, %v", n, err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "rulestream_decision_latency_seconds" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != 4 || h.GetSampleSum() != 0.06 {
			t.Errorf("count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
		}
		cum := map[float64]uint64{}
		for _, b := range h.GetBucket() {
			cum[b.GetUpperBound()] = b.GetCumulativeCount()
		}
		if cum[0.0064] != 0 || cum[0.0128] != 3 || cum[0.0512] != 4 || cum[stream.LatencyBuckets[20].Seconds()] != 4 {
			t.Errorf("buckets %v", cum)
		}
		if lbl := mf.GetMetric()[0].GetLabel(); len(lbl) != 2 || lbl[1].GetName() != "rule" || lbl[1].GetValue() != "upgrade_ad" {
			t.Errorf("labels %v", lbl)
		}
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
