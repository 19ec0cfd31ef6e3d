package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rulestream/rulestream/stream"
)

// Operator decorates a stage of the chain with metrics under the label
// operator=name: the events it takes (operator_events_in_total) and emits
// (operator_events_out_total), and the processing time of its Process and
// Advance calls (operator_seconds{call}). Wrap every stage to see the events
// in and out of each. The decorator forwards Start, Snapshot and Restore, so
// it can wrap stateful operators in checkpointed pipelines (and Release and
// Shed, for revoked partitions and the memory budget); lanes and
// partitions of one name add up.
func (m *Metrics) Operator(name string, op stream.Operator) stream.Operator {
	return &timedOp{op: op, clock: m.cfg.Clock,
		in: m.opIn.WithLabelValues(name), out: m.opOut.WithLabelValues(name),
		process: m.opDur.WithLabelValues(name, "process"), advance: m.opDur.WithLabelValues(name, "advance")}
}

type timedOp struct {
	op               stream.Operator
	clock            stream.Clock
	in, out          prometheus.Counter
	process, advance prometheus.Observer
}

func (t *timedOp) Process(ctx context.Context, in []stream.Event, out *stream.Emitter) error {
	before := len(out.Events())
	start := t.clock.Now()
	err := t.op.Process(ctx, in, out)
	t.process.Observe(t.clock.Now().Sub(start).Seconds())
	t.in.Add(float64(len(in)))
	t.out.Add(float64(len(out.Events()) - before))
	return err
}

func (t *timedOp) Advance(ctx context.Context, wm int64, out *stream.Emitter) error {
	before := len(out.Events())
	start := t.clock.Now()
	err := t.op.Advance(ctx, wm, out)
	t.advance.Observe(t.clock.Now().Sub(start).Seconds())
	t.out.Add(float64(len(out.Events()) - before))
	return err
}

// Start forwards to the operator's Start, if it has one.
func (t *timedOp) Start(ctx context.Context, env stream.Env) error {
	if s, ok := t.op.(stream.Starter); ok {
		return s.Start(ctx, env)
	}
	return nil
}

// Snapshot forwards to the operator's Snapshot; nil for a stateless one.
func (t *timedOp) Snapshot() ([]byte, error) {
	if s, ok := t.op.(stream.Snapshotter); ok {
		return s.Snapshot()
	}
	return nil, nil
}

// Restore forwards to the operator's Restore.
func (t *timedOp) Restore(data []byte) error {
	if s, ok := t.op.(stream.Snapshotter); ok {
		return s.Restore(data)
	}
	return nil
}

// Release forwards to the operator's Release, if it has one.
func (t *timedOp) Release() {
	if r, ok := t.op.(stream.Releaser); ok {
		r.Release()
	}
}

// Shed forwards to the operator's Shed, if it has one.
func (t *timedOp) Shed(fraction float64) {
	if s, ok := t.op.(stream.Shedder); ok {
		s.Shed(fraction)
	}
}

// EmitsInArrivalOrder forwards the wrapped operator's (stream.ArrivalOrdered).
func (t *timedOp) EmitsInArrivalOrder() bool {
	a, ok := t.op.(stream.ArrivalOrdered)
	return ok && a.EmitsInArrivalOrder()
}
