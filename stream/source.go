package stream

import (
	"context"
	"errors"
)

// ErrEndOfInput is returned by Source.Read when a bounded source has no more
// events. The runner then treats the source's partitions as finished.
var ErrEndOfInput = errors.New("stream: end of input")

// AckFunc is called once the effects of a batch are done (err == nil) or
// have failed (err != nil, a nack). It may block; ctx bounds it.
type AckFunc func(ctx context.Context, err error) error

// Reject is a malformed record that could not become an event.
type Reject struct {
	Pos    Position
	Reason string
	Raw    []byte
}

// Batch is what a source reads at once: decoded events, rejected records,
// and an optional acknowledgement callback for all of them.
type Batch struct {
	Events  []Event
	Rejects []Reject
	Ack     AckFunc
	// Late are events a source already found late (SortByTime, which
	// judges the arrival order itself), each with the watermark it was
	// found behind (LateWM, same length): they go to the late output as
	// they are, counted as read and late.
	Late   []Event
	LateWM []int64
	// NewPartitions are partitions the source starts reading from now on
	// (a file that appeared, GlobSource), announced before their first
	// event: in an ordinary pipeline (Via) each then holds the watermark
	// where it is until it produces, goes idle or ends, as the partitions
	// a source lists before reading do (PartitionLister), so that its
	// events are not found late behind what the others read meanwhile.
	NewPartitions []int32
	// Resume, from a ResumableSource, is where the batch leaves the one
	// partition its events and rejects come from: what a checkpoint saves
	// for the source to resume at (nil: nothing to save).
	Resume *SourceOffset
}

// Source produces batches of events. Read blocks until a batch is ready, ctx
// is done, or the input ends (ErrEndOfInput). Close releases resources.
// A source is read from one goroutine.
type Source interface {
	Name() string
	Read(ctx context.Context) (Batch, error)
	Close(ctx context.Context) error
}

// Connecter is implemented by sources and sinks that must connect before use.
type Connecter interface {
	Connect(ctx context.Context) error
}

// SchemaSource is implemented by sources that know the schema of the events
// they read before reading any (the schema their decoder declares). The
// runner passes it to the operators in Env.Schema.
type SchemaSource interface {
	Schema() *Schema
}

// PartitionSource is implemented by sources whose partitions come and go
// (such as a Kafka consumer group). The runner drops a revoked partition from
// the watermark minimum of an ordinary pipeline; a partitioned pipeline
// (ViaPartitioned) relies on the source calling RevokePartition instead.
type PartitionSource interface {
	Source
	// Revoked returns a channel that receives partitions no longer read.
	Revoked() <-chan int32
}

// PartitionLister is implemented by sources that know their partitions
// before reading, such as a file (partition -1). In a pipeline of several
// sources the runner then holds the watermark for each of them until it
// produces, goes idle or ends: the events of a source read later than the
// others are not taken for late ones.
type PartitionLister interface {
	Partitions() []int32
}

// EventRecycler is implemented by sources that reuse the Events slices of
// their batches (FileSource): the runner hands a batch's back once its
// events went through the operators, which keep copies of events, never
// the slice (Operator). Not when a task has no operators: its output is
// the batch's slice itself.
type EventRecycler interface {
	RecycleEvents(events []Event)
}
