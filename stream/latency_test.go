package stream

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Each emission's decision latency runs from its event's arrival (the
// source's Read, stamped by the runner on Event.Arrived) to the flush of
// the sinks that acknowledged it, per rule; events without a rule (input
// passed through) and emissions of failed writes are not counted.
func TestDecisionLatencyPerRule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	clock := NewManualClock(t0)
	evs := make([]Event, 5)
	for i := range evs {
		evs[i] = Event{Time: int64(i), Pos: Position{Source: "s", Offset: int64(i)}}
	}
	rule := Map(func(ev *Event) bool {
		if ev.Pos.Offset%2 == 0 {
			ev.Rule = "even"
		}
		return true
	})
	// The sink takes 7ms of processing time to acknowledge a write.
	var arrived []int64
	sink := SinkFunc(func(_ context.Context, out []Event) error {
		for i := range out {
			arrived = append(arrived, out[i].Arrived)
		}
		clock.Advance(7 * time.Millisecond)
		return nil
	})
	p := New("lat", Config{Clock: clock, TickInterval: time.Hour, FlushInterval: time.Hour})
	p.From(NewSliceSource("s", evs, 16)).Via(rule).To(sink)
	require.NoError(t, p.Run(context.Background()))
	require.Equal(t, []int64{t0.UnixNano(), t0.UnixNano(), t0.UnixNano(), t0.UnixNano(), t0.UnixNano()}, arrived)
	lat := p.DecisionLatency()
	require.Len(t, lat, 1)
	s := lat["even"]
	require.EqualValues(t, 3, s.Count)
	require.Equal(t, 7*time.Millisecond, s.Max)
	require.Equal(t, 21*time.Millisecond, s.Sum)
	require.Equal(t, 7*time.Millisecond, s.Quantile(0.5))
	require.Equal(t, 7*time.Millisecond, s.Quantile(0.99))
	// 7ms falls in the bucket up to 12.8ms.
	require.EqualValues(t, 3, s.Counts[7])
	require.Equal(t, 12800*time.Microsecond, LatencyBuckets[7])
}

func TestLatencySnapshotQuantile(t *testing.T) {
	var h latencyHist
	for _, d := range []time.Duration{50 * time.Microsecond, time.Millisecond, 3 * time.Millisecond, 40 * time.Millisecond, 200 * time.Second} {
		h.observe(d)
	}
	s := h.snapshot()
	require.Equal(t, 100*time.Microsecond, s.Quantile(0.2))
	require.Equal(t, 3200*time.Microsecond, s.Quantile(0.6))
	require.Equal(t, 51200*time.Microsecond, s.Quantile(0.8))
	require.Equal(t, 200*time.Second, s.Quantile(1), "past the last bucket: the max")
	require.Zero(t, LatencySnapshot{}.Quantile(0.5))
}
