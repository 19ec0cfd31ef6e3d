package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rulestream/rulestream/stream"
)

// LatencySource is a pipeline that keeps decision-latency histograms
// (stream.Pipeline.DecisionLatency): New exports them when its
// StatsSource is one.
type LatencySource interface {
	DecisionLatency() map[string]stream.LatencySnapshot
}

// latencyBounds are stream.LatencyBuckets in seconds.
var latencyBounds = func() []float64 {
	out := make([]float64, len(stream.LatencyBuckets))
	for i, b := range stream.LatencyBuckets {
		out[i] = b.Seconds()
	}
	return out
}()

func newLatencyDesc(d func(name, help string, vars ...string) *prometheus.Desc) *prometheus.Desc {
	return d("decision_latency_seconds", "Per rule, from the arrival in the process of the event a rule decided on (for a window rule, the event completing the match) to the flush of the sinks that acknowledged its emission (Redis's reply).", "rule")
}

// collectLatency sends each rule's histogram.
func collectLatency(desc *prometheus.Desc, p StatsSource, ch chan<- prometheus.Metric) {
	ls, ok := p.(LatencySource)
	if !ok {
		return
	}
	lat := ls.DecisionLatency()
	for _, rule := range sortedKeys(lat) {
		s := lat[rule]
		buckets := make(map[float64]uint64, len(latencyBounds))
		var cum uint64
		for i, bound := range latencyBounds {
			cum += uint64(s.Counts[i])
			buckets[bound] = cum
		}
		ch <- prometheus.MustNewConstHistogram(desc, uint64(s.Count), s.Sum.Seconds(), buckets, rule)
	}
}
