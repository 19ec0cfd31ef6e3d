package dashboard

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/stream"
)

type latencyPipe struct {
	lat map[string]stream.LatencySnapshot
}

func (latencyPipe) Name() string                                         { return "p" }
func (latencyPipe) Stats() stream.Stats                                  { return stream.Stats{} }
func (l latencyPipe) DecisionLatency() map[string]stream.LatencySnapshot { return l.lat }

type plainPipe struct{}

func (plainPipe) Name() string        { return "p" }
func (plainPipe) Stats() stream.Stats { return stream.Stats{} }

// The decision-latency panel's rows: per rule, sorted, in milliseconds.
func TestLatencyRows(t *testing.T) {
	counts := make([]int64, len(stream.LatencyBuckets)+1)
	counts[5], counts[9] = 99, 1 // ≤3.2ms, ≤51.2ms
	d := &Dashboard{cfg: Config{Pipeline: latencyPipe{lat: map[string]stream.LatencySnapshot{
		"upgrade_ad": {Counts: counts, Count: 100, Max: 40 * time.Millisecond},
		"interest":   {Counts: make([]int64, len(counts))},
	}}}}
	require.Equal(t, []LatencyRow{
		{Rule: "interest"},
		{Rule: "upgrade_ad", Count: 100, P50ms: 3.2, P99ms: 3.2, MaxMs: 40},
	}, d.latency())
	require.Nil(t, (&Dashboard{cfg: Config{Pipeline: plainPipe{}}}).latency())
}
