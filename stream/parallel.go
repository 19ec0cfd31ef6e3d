package stream

import (
	"context"
	"errors"
	"fmt"
)

// Parallel runs several operators on the same input, as branches of the
// graph, and concatenates their outputs (branch order, then emission order).
// Each branch receives its own copy of the batch, so a branch may modify
// the events it gets. Parallel is itself an Operator; it forwards Start,
// Snapshot and Restore to the branches.
func Parallel(branches ...Operator) Operator { return &parallel{branches: branches} }

type parallel struct {
	branches []Operator
	ems      []Emitter
	scratch  []Event
}

func (p *parallel) Start(ctx context.Context, env Env) error {
	p.ems = make([]Emitter, len(p.branches))
	for i, b := range p.branches {
		if b == nil {
			return fmt.Errorf("parallel: branch %d is nil", i)
		}
		if st, ok := b.(Starter); ok {
			if err := st.Start(ctx, env); err != nil {
				return fmt.Errorf("parallel branch %d: %w", i, err)
			}
		}
	}
	return nil
}

func (p *parallel) each(out *Emitter, fn func(i int, b Operator, em *Emitter) error) error {
	if p.ems == nil {
		p.ems = make([]Emitter, len(p.branches))
	}
	for i, b := range p.branches {
		em := &p.ems[i]
		em.Reset()
		if err := fn(i, b, em); err != nil {
			return fmt.Errorf("parallel branch %d: %w", i, err)
		}
		out.events = append(out.events, em.events...)
		out.late = append(out.late, em.late...)
		out.dead = append(out.dead, em.dead...)
	}
	return nil
}

func (p *parallel) Process(ctx context.Context, in []Event, out *Emitter) error {
	return p.each(out, func(i int, b Operator, em *Emitter) error {
		in := in
		if i < len(p.branches)-1 {
			p.scratch = append(p.scratch[:0], in...)
			in = p.scratch
		}
		return b.Process(ctx, in, em)
	})
}

func (p *parallel) Advance(ctx context.Context, wm int64, out *Emitter) error {
	return p.each(out, func(_ int, b Operator, em *Emitter) error { return b.Advance(ctx, wm, em) })
}

// Snapshot concatenates the branches' snapshots (length-prefixed).
func (p *parallel) Snapshot() ([]byte, error) {
	var buf []byte
	buf = append(buf, 1) // version
	for i, b := range p.branches {
		var data []byte
		if s, ok := b.(Snapshotter); ok {
			d, err := s.Snapshot()
			if err != nil {
				return nil, fmt.Errorf("parallel branch %d: %w", i, err)
			}
			data = d
		}
		buf = appendUvarintBytes(buf, data)
	}
	return buf, nil
}

// Restore splits a Parallel snapshot among the branches.
func (p *parallel) Restore(data []byte) error {
	if len(data) == 0 || data[0] != 1 {
		return errors.New("parallel: unknown snapshot version")
	}
	data = data[1:]
	for i, b := range p.branches {
		part, rest, err := readUvarintBytes(data)
		if err != nil {
			return fmt.Errorf("parallel branch %d: %w", i, err)
		}
		data = rest
		s, ok := b.(Snapshotter)
		switch {
		case ok:
			if err := s.Restore(part); err != nil {
				return fmt.Errorf("parallel branch %d: %w", i, err)
			}
		case len(part) > 0:
			// The snapshot's branch held state this one cannot take: it was
			// saved by other operators (a job whose order: or windows
			// changed). Dropping it would lose what it held.
			return fmt.Errorf("parallel branch %d: the checkpoint holds %d bytes of state for a branch that keeps none: it was saved by other operators (the job's order: or windows changed since); run the job as it was until its input is processed, or remove the checkpoint", i, len(part))
		}
	}
	if len(data) != 0 {
		return errors.New("parallel: trailing bytes in snapshot")
	}
	return nil
}

// Shed forwards to the branches that can shed state.
func (p *parallel) Shed(fraction float64) {
	for _, b := range p.branches {
		if sh, ok := b.(Shedder); ok {
			sh.Shed(fraction)
		}
	}
}

// Release forwards to the branches that hold something.
func (p *parallel) Release() {
	for _, b := range p.branches {
		if rl, ok := b.(Releaser); ok {
			rl.Release()
		}
	}
}
