package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rulestream/rulestream/stream"
)

// Sink decorates s with the sink metrics under the label sink=name: the
// latency of each Write and Flush (sink_seconds), their failures
// (sink_errors_total) and the events written (sink_events_total). The
// decorator is a stream.Flusher and forwards Flush when s is one; it
// forwards Connect when s has it.
func (m *Metrics) Sink(name string, s stream.Sink) stream.Sink {
	return &timedSink{s: s, clock: m.cfg.Clock,
		write: m.sinkDur.WithLabelValues(name, "write"), flush: m.sinkDur.WithLabelValues(name, "flush"),
		writeErr: m.sinkErr.WithLabelValues(name, "write"), flushErr: m.sinkErr.WithLabelValues(name, "flush"),
		events: m.sinkEvts.WithLabelValues(name)}
}

type timedSink struct {
	s                  stream.Sink
	clock              stream.Clock
	write, flush       prometheus.Observer
	writeErr, flushErr prometheus.Counter
	events             prometheus.Counter
}

func (t *timedSink) Write(ctx context.Context, events []stream.Event) error {
	start := t.clock.Now()
	err := t.s.Write(ctx, events)
	t.write.Observe(t.clock.Now().Sub(start).Seconds())
	if err != nil {
		t.writeErr.Inc()
		return err
	}
	t.events.Add(float64(len(events)))
	return nil
}

func (t *timedSink) Flush(ctx context.Context) error {
	f, ok := t.s.(stream.Flusher)
	if !ok {
		return nil
	}
	start := t.clock.Now()
	err := f.Flush(ctx)
	t.flush.Observe(t.clock.Now().Sub(start).Seconds())
	if err != nil {
		t.flushErr.Inc()
	}
	return err
}

// Connect forwards to the sink's Connect, if it has one.
func (t *timedSink) Connect(ctx context.Context) error {
	if c, ok := t.s.(stream.Connecter); ok {
		return c.Connect(ctx)
	}
	return nil
}

func (t *timedSink) Close(ctx context.Context) error { return t.s.Close(ctx) }
