package stream

import "context"

// Sink receives batches of events. Write may keep events buffered; Flusher
// (optional) forces them out. Write is called from one goroutine. The events
// slice is only valid during the call: a sink that keeps events must copy them.
type Sink interface {
	Write(ctx context.Context, events []Event) error
	Close(ctx context.Context) error
}

// Flusher is implemented by sinks that buffer. The runner flushes before
// acknowledging input and on shutdown.
type Flusher interface {
	Flush(ctx context.Context) error
}

// SinkFunc adapts a function to a Sink with a no-op Close.
type SinkFunc func(ctx context.Context, events []Event) error

// Write calls f.
func (f SinkFunc) Write(ctx context.Context, events []Event) error { return f(ctx, events) }

// Close does nothing.
func (f SinkFunc) Close(context.Context) error { return nil }

// Discard is a Sink that drops everything.
var Discard Sink = SinkFunc(func(context.Context, []Event) error { return nil })

// LateWriter is implemented by late sinks (Pipeline.Late) that want to know
// how late each event was: the runner calls WriteLate instead of Write,
// with, per event, the watermark it was found behind (the pipeline's, or
// for an operator's late output the watermark the operator had reached).
type LateWriter interface {
	WriteLate(ctx context.Context, events []Event, watermarks []int64) error
}
