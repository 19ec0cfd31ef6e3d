package metrics

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rulestream/rulestream/stream"
)

// BenchmarkSinkDecorator measures what the timing decorator adds to a
// Write of a 1024-event batch into a sink that does nothing.
func BenchmarkSinkDecorator(b *testing.B) {
	m, err := New(prometheus.NewRegistry(), stream.New("bench", stream.Config{}), Config{})
	if err != nil {
		b.Fatal(err)
	}
	s := m.Sink("discard", stream.Discard)
	evs := events(1024, t0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Write(ctx, evs)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkScrape measures one scrape of the pipeline collector.
func BenchmarkScrape(b *testing.B) {
	reg := prometheus.NewRegistry()
	firings := map[string]int64{"interest": 1, "upgrade_ad": 2, "sms_offer": 3}
	if _, err := New(reg, stream.New("bench", stream.Config{}), Config{Firings: func() map[string]int64 { return firings }}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOperatorDecorator measures what the decorator adds to a Process
// call of a 1024-event batch through a pass-through operator.
func BenchmarkOperatorDecorator(b *testing.B) {
	m, err := New(prometheus.NewRegistry(), stream.New("bench", stream.Config{}), Config{})
	if err != nil {
		b.Fatal(err)
	}
	op := m.Operator("noop", stream.OperatorFunc(func(context.Context, []stream.Event, *stream.Emitter) error { return nil }))
	evs := events(1024, t0)
	ctx := context.Background()
	var em stream.Emitter
	b.ReportAllocs()
	for b.Loop() {
		_ = op.Process(ctx, evs, &em)
	}
}
