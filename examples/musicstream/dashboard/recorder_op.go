package dashboard

import (
	"context"

	"github.com/rulestream/rulestream/stream"
)

// Tap returns a partition's operators for music.Config.Analytics (a job's
// tap): inner's (e.g. analytics.Factory.Operator), each recording the plays
// of every batch before passing it on. The recorder keeps no state of its
// own: the operator's Start, Snapshot, Restore, Shed and Release are
// inner's, so a checkpoint taken with inner alone restores. A nil inner
// gives the recorder alone.
func (r *Recorder) Tap(inner func(stream.PartitionID) (stream.Operator, error)) func(stream.PartitionID) (stream.Operator, error) {
	return func(pid stream.PartitionID) (stream.Operator, error) {
		var op stream.Operator = stream.OperatorFunc(func(context.Context, []stream.Event, *stream.Emitter) error { return nil })
		if inner != nil {
			var err error
			if op, err = inner(pid); err != nil {
				return nil, err
			}
		}
		return &recording{inner: op, r: r, b: r.newBatch()}, nil
	}
}

// Operator returns an operator that records plays and emits nothing, for a
// branch of stream.Parallel.
func (r *Recorder) Operator() stream.Operator {
	op, _ := r.Tap(nil)(stream.PartitionID{})
	return op
}

// recording records each batch's plays, then hands it to inner.
type recording struct {
	inner stream.Operator
	r     *Recorder
	b     *batch
}

func (o *recording) Process(ctx context.Context, in []stream.Event, out *stream.Emitter) error {
	_ = o.r.record(ctx, in, o.b) // counted and logged; the plays go on
	return o.inner.Process(ctx, in, out)
}

func (o *recording) Advance(ctx context.Context, wm int64, out *stream.Emitter) error {
	return o.inner.Advance(ctx, wm, out)
}

func (o *recording) Start(ctx context.Context, env stream.Env) error {
	if s, ok := o.inner.(stream.Starter); ok {
		return s.Start(ctx, env)
	}
	return nil
}

// Snapshot is inner's (nil when it keeps none, as a branch without state).
func (o *recording) Snapshot() ([]byte, error) {
	if s, ok := o.inner.(stream.Snapshotter); ok {
		return s.Snapshot()
	}
	return nil, nil
}

func (o *recording) Restore(data []byte) error {
	if s, ok := o.inner.(stream.Snapshotter); ok {
		return s.Restore(data)
	}
	return nil
}

func (o *recording) Shed(fraction float64) {
	if s, ok := o.inner.(stream.Shedder); ok {
		s.Shed(fraction)
	}
}

func (o *recording) Release() {
	if r, ok := o.inner.(stream.Releaser); ok {
		r.Release()
	}
}
