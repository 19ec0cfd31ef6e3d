package stream

import (
	"context"
	"log/slog"
	"slices"
)

// Operator is a stage between the sources and the sink. It is a state
// machine: the runner calls Process with each batch of events (in arrival
// order) and Advance each time the pipeline watermark moves. Output goes to
// out. An operator owns no goroutines or timers and is called from one
// goroutine. The in slice belongs to the runner only during the call: keep
// copies of events, not the slice. An operator may keep an event's Fields
// and Joins (and the strings in them) as long as it likes: sources never
// reuse the memory of values they handed out.
type Operator interface {
	Process(ctx context.Context, in []Event, out *Emitter) error
	Advance(ctx context.Context, watermark int64, out *Emitter) error
}

// Starter is implemented by operators that need the pipeline's settings
// before the first event.
type Starter interface {
	Start(ctx context.Context, env Env) error
}

// Snapshotter is implemented by stateful operators whose state can be
// checkpointed: Snapshot serialises it to bytes (a versioned format), Restore
// replaces the state with a snapshot.
type Snapshotter interface {
	Snapshot() ([]byte, error)
	Restore(data []byte) error
}

// ArrivalOrdered is implemented by operators that emit in arrival order:
// every event Process emits is emitted while taking one input, carries that
// input's Event.Seq, and comes after what the inputs before it emitted;
// Advance emits nothing. A checkpointed task whose operators all say so
// numbers its inputs (Event.Seq), so that an exactly-once sink can keep a
// high-water mark per partition instead of a marker per output. Buffering,
// windowed or watermark-driven operators must not implement it (or return
// false): their outputs' timing depends on the batching.
type ArrivalOrdered interface {
	EmitsInArrivalOrder() bool
}

// arrivalOrdered says whether every operator of ops emits in arrival order.
func arrivalOrdered(ops []Operator) bool {
	for _, op := range ops {
		if a, ok := op.(ArrivalOrdered); !ok || !a.EmitsInArrivalOrder() {
			return false
		}
	}
	return true
}

// Releaser is implemented by operators that hold something beyond their
// state, such as a registration in a registry of counters: the runner calls
// Release when it drops the operator for good, after its partition was
// revoked and checkpointed (not when the pipeline ends: the last counts
// stay readable).
type Releaser interface {
	Release()
}

// Env is what an operator learns about its pipeline when it starts.
type Env struct {
	Pipeline string
	Config   Config
	Logger   *slog.Logger
	Clock    Clock
	// Schema is the schema of the input events when every source declares
	// the same one (SchemaSource), else nil. An operator keyed by fields can
	// refuse, at start, fields that this schema lacks.
	Schema *Schema
	// Schemas are the schemas known to the pipeline, each once: the
	// sources' declared schemas, then Config.Schemas. Shared: do not modify.
	Schemas []*Schema
}

// Emitter collects the output of an operator.
type Emitter struct {
	events []Event
	late   []Event
	dead   []Reject
}

// Emit appends an event to the output.
func (e *Emitter) Emit(ev Event) { e.events = append(e.events, ev) }

// EmitAll appends events to the output.
func (e *Emitter) EmitAll(evs []Event) { e.events = append(e.events, evs...) }

// Late sends an event to the pipeline's late side output: an operator found
// it too late to take into account.
func (e *Emitter) Late(ev Event) { e.late = append(e.late, ev) }

// DeadLetter sends a record the operator cannot process (for instance an
// event whose enrichment failed under a dead-letter policy) to the pipeline's
// dead-letter sink, counted with the decoders' rejects.
func (e *Emitter) DeadLetter(r Reject) { e.dead = append(e.dead, r) }

// Events returns what has been emitted so far.
func (e *Emitter) Events() []Event { return e.events }

// LateEvents returns what was sent to the late side output so far.
func (e *Emitter) LateEvents() []Event { return e.late }

// DeadLetters returns what was sent to the dead-letter so far.
func (e *Emitter) DeadLetters() []Reject { return e.dead }

// Grow makes room for n more emitted events.
func (e *Emitter) Grow(n int) { e.events = slices.Grow(e.events, n) }

// Reset empties the emitter, keeping its memory.
func (e *Emitter) Reset() {
	clear(e.events)
	e.events = e.events[:0]
	e.late = e.late[:0]
	e.dead = e.dead[:0]
}

// OperatorFunc adapts a stateless per-batch function to an Operator.
type OperatorFunc func(ctx context.Context, in []Event, out *Emitter) error

// Process calls f.
func (f OperatorFunc) Process(ctx context.Context, in []Event, out *Emitter) error {
	return f(ctx, in, out)
}

// Advance does nothing: a stateless operator has nothing to fire.
func (f OperatorFunc) Advance(context.Context, int64, *Emitter) error { return nil }

// Map returns an operator that transforms each event in place; returning
// false drops it.
func Map(fn func(ev *Event) bool) Operator {
	return OperatorFunc(func(_ context.Context, in []Event, out *Emitter) error {
		for i := range in {
			if fn(&in[i]) {
				out.Emit(in[i])
			}
		}
		return nil
	})
}

// Filter returns an operator that keeps the events for which keep is true.
func Filter(keep func(ev *Event) bool) Operator { return Map(keep) }
