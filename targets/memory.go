package targets

import (
	"context"
	"sync"

	"github.com/rulestream/rulestream/stream"
)

// Memory is an in-memory idempotent sink, a fake for users' pipeline tests:
// it keeps the first event of every ID (events without ID always) in
// arrival order. Safe for concurrent reads while a pipeline writes.
type Memory struct {
	mu     sync.Mutex
	seen   map[string]struct{}
	events []stream.Event
	closed bool
}

// NewMemory returns an empty memory sink.
func NewMemory() *Memory { return &Memory{seen: map[string]struct{}{}} }

// Write keeps copies of events whose IDs it has not seen.
func (m *Memory) Write(_ context.Context, events []stream.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	for _, ev := range events {
		if ev.ID != "" {
			if _, dup := m.seen[ev.ID]; dup {
				continue
			}
			m.seen[ev.ID] = struct{}{}
		}
		ev.Fields = append([]stream.Value(nil), ev.Fields...)
		ev.Joins = append([]stream.Join(nil), ev.Joins...)
		m.events = append(m.events, ev)
	}
	return nil
}

// Flush does nothing: writes are immediate.
func (m *Memory) Flush(context.Context) error { return nil }

// Close makes further writes fail.
func (m *Memory) Close(context.Context) error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return nil
}

// Events returns the kept events in order, of the given target only when
// target is not empty.
func (m *Memory) Events(target string) []stream.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []stream.Event
	for _, ev := range m.events {
		if target == "" || ev.Target == target {
			out = append(out, ev)
		}
	}
	return out
}
