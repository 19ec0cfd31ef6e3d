package targets

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/rulestream/rulestream/stream"
)

// UnknownTargetError is returned by a Router for an event whose Target has
// no route and no Unknown sink.
type UnknownTargetError struct {
	Target string
	ID     string
}

func (e *UnknownTargetError) Error() string {
	return fmt.Sprintf("targets: no route for target %q (event %q)", e.Target, e.ID)
}

// RouterConfig maps targets to sinks.
type RouterConfig struct {
	// Routes sends events whose Target is the map key to every listed sink,
	// in order. A sink may serve several targets.
	Routes map[string][]stream.Sink
	// Unknown receives events of targets without a route. Nil: such an
	// event fails the whole Write with an UnknownTargetError before anything
	// is written.
	Unknown stream.Sink
}

// Router is a sink that dispatches events by Target. Each sink receives its
// events in their original order, one Write per Router Write.
type Router struct {
	routes  map[string][]int
	unknown int // index in sinks, -1 when none
	sinks   []stream.Sink
	bufs    [][]stream.Event
}

// NewRouter returns a router; a route to no sink is an error.
func NewRouter(cfg RouterConfig) (*Router, error) {
	r := &Router{routes: make(map[string][]int, len(cfg.Routes)), unknown: -1}
	index := map[stream.Sink]int{}
	add := func(s stream.Sink) int {
		if i, ok := index[s]; ok {
			return i
		}
		index[s] = len(r.sinks)
		r.sinks = append(r.sinks, s)
		return len(r.sinks) - 1
	}
	names := make([]string, 0, len(cfg.Routes))
	for name := range cfg.Routes {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic sink order
	for _, name := range names {
		if len(cfg.Routes[name]) == 0 {
			return nil, fmt.Errorf("targets: route %q has no sink", name)
		}
		for _, s := range cfg.Routes[name] {
			if s == nil {
				return nil, fmt.Errorf("targets: route %q has a nil sink", name)
			}
			r.routes[name] = append(r.routes[name], add(s))
		}
	}
	if cfg.Unknown != nil {
		r.unknown = add(cfg.Unknown)
	}
	r.bufs = make([][]stream.Event, len(r.sinks))
	return r, nil
}

// Write splits events by target and writes each sink's share.
func (r *Router) Write(ctx context.Context, events []stream.Event) error {
	for i := range r.bufs {
		clear(r.bufs[i])
		r.bufs[i] = r.bufs[i][:0]
	}
	for i := range events {
		idx, ok := r.routes[events[i].Target]
		if !ok {
			if r.unknown < 0 {
				return &UnknownTargetError{Target: events[i].Target, ID: events[i].ID}
			}
			idx = []int{r.unknown}
		}
		for _, k := range idx {
			r.bufs[k] = append(r.bufs[k], events[i])
		}
	}
	for k, buf := range r.bufs {
		if len(buf) == 0 {
			continue
		}
		if err := r.sinks[k].Write(ctx, buf); err != nil {
			return err
		}
	}
	return nil
}

// Flush flushes every sink that buffers.
func (r *Router) Flush(ctx context.Context) error {
	for _, s := range r.sinks {
		if f, ok := s.(stream.Flusher); ok {
			if err := f.Flush(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// Connect connects every sink that needs it.
func (r *Router) Connect(ctx context.Context) error {
	for _, s := range r.sinks {
		if c, ok := s.(stream.Connecter); ok {
			if err := c.Connect(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close closes every sink (each flushes what it holds) and joins the errors.
func (r *Router) Close(ctx context.Context) error {
	var errs []error
	for _, s := range r.sinks {
		errs = append(errs, s.Close(ctx))
	}
	return errors.Join(errs...)
}

// Sinks returns the distinct sinks in the router's order.
func (r *Router) Sinks() []stream.Sink { return append([]stream.Sink(nil), r.sinks...) }
