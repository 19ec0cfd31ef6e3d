package stream

import (
	"context"
	"sync"
)

// SliceSource is an in-memory source over a fixed slice of events, read in
// batches. Use it in tests and benchmarks. Events keep their Pos; a zero
// Pos gets the source's name, partition -1 and the index as offset.
type SliceSource struct {
	name      string
	events    []Event
	batchSize int
	next      int
	copyOut   bool
}

// NewSliceSource returns a source of events in batches of batchSize
// (default 1024). The slice is copied batch by batch, so it can be reused.
func NewSliceSource(name string, events []Event, batchSize int) *SliceSource {
	if batchSize <= 0 {
		batchSize = 1024
	}
	return &SliceSource{name: name, events: events, batchSize: batchSize, copyOut: true}
}

// Name returns the source's name.
func (s *SliceSource) Name() string { return s.name }

// Read returns the next batch, or ErrEndOfInput.
func (s *SliceSource) Read(ctx context.Context) (Batch, error) {
	if err := ctx.Err(); err != nil {
		return Batch{}, err
	}
	if s.next >= len(s.events) {
		return Batch{}, ErrEndOfInput
	}
	end := min(s.next+s.batchSize, len(s.events))
	evs := make([]Event, end-s.next)
	copy(evs, s.events[s.next:end])
	for i := range evs {
		if evs[i].Pos.Source == "" {
			evs[i].Pos = Position{Source: s.name, Partition: -1, Offset: int64(s.next + i)}
		}
	}
	s.next = end
	return Batch{Events: evs}, nil
}

// Close does nothing.
func (s *SliceSource) Close(context.Context) error { return nil }

// ChanSource is an in-memory source fed through a channel of batches; close
// the channel to end the input. Tests use it to control arrival exactly.
type ChanSource struct {
	name string
	C    chan Batch
}

// NewChanSource returns a source with an unbuffered channel.
func NewChanSource(name string) *ChanSource { return &ChanSource{name: name, C: make(chan Batch)} }

// Name returns the source's name.
func (s *ChanSource) Name() string { return s.name }

// Read returns the next batch sent on C, or ErrEndOfInput once C is closed.
func (s *ChanSource) Read(ctx context.Context) (Batch, error) {
	select {
	case b, ok := <-s.C:
		if !ok {
			return Batch{}, ErrEndOfInput
		}
		return b, nil
	case <-ctx.Done():
		return Batch{}, ctx.Err()
	}
}

// Close does nothing.
func (s *ChanSource) Close(context.Context) error { return nil }

// CollectSink keeps copies of every event it receives. Safe for concurrent
// reads while the pipeline runs.
type CollectSink struct {
	mu     sync.Mutex
	events []Event
	notify chan struct{}
}

// NewCollectSink returns an empty collecting sink.
func NewCollectSink() *CollectSink { return &CollectSink{notify: make(chan struct{}, 1)} }

// Write appends copies of events.
func (s *CollectSink) Write(_ context.Context, events []Event) error {
	s.mu.Lock()
	for _, ev := range events {
		ev.Fields = append([]Value(nil), ev.Fields...)
		ev.Joins = append([]Join(nil), ev.Joins...)
		s.events = append(s.events, ev)
	}
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return nil
}

// Close does nothing.
func (s *CollectSink) Close(context.Context) error { return nil }

// Events returns a copy of what was collected.
func (s *CollectSink) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Len returns how many events were collected.
func (s *CollectSink) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

// WaitFor blocks until at least n events were collected or ctx ends.
func (s *CollectSink) WaitFor(ctx context.Context, n int) error {
	for {
		if s.Len() >= n {
			return nil
		}
		select {
		case <-s.notify:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
