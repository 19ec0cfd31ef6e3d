package job

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/rulestream/rulestream/stream"
)

// chain runs operators one after the other as one operator: what the first
// emits is the input of the second (a window behind its where: filter).
// Advance reaches each in order, its emissions flowing through the rest.
type chain struct {
	ops []stream.Operator
	ems []stream.Emitter
}

func newChain(ops ...stream.Operator) stream.Operator {
	if len(ops) == 1 {
		return ops[0]
	}
	return &chain{ops: ops, ems: make([]stream.Emitter, len(ops))}
}

func (c *chain) Start(ctx context.Context, env stream.Env) error {
	for i, op := range c.ops {
		if s, ok := op.(stream.Starter); ok {
			if err := s.Start(ctx, env); err != nil {
				return fmt.Errorf("chain stage %d: %w", i, err)
			}
		}
	}
	return nil
}

// run feeds in to stage i and its output down the chain into out.
func (c *chain) run(ctx context.Context, i int, in []stream.Event, out *stream.Emitter, advance bool, wm int64) error {
	em := out
	if i < len(c.ops)-1 {
		em = &c.ems[i]
		em.Reset()
	}
	var err error
	if advance {
		err = c.ops[i].Advance(ctx, wm, em)
	} else {
		err = c.ops[i].Process(ctx, in, em)
	}
	if err != nil || em == out {
		return err
	}
	for _, ev := range em.LateEvents() {
		out.Late(ev)
	}
	for _, r := range em.DeadLetters() {
		out.DeadLetter(r)
	}
	if len(em.Events()) == 0 {
		return nil
	}
	return c.run(ctx, i+1, em.Events(), out, false, 0)
}

func (c *chain) Process(ctx context.Context, in []stream.Event, out *stream.Emitter) error {
	return c.run(ctx, 0, in, out, false, 0)
}

func (c *chain) Advance(ctx context.Context, wm int64, out *stream.Emitter) error {
	for i := range c.ops {
		// Stage i fires on the watermark; its output goes on down the chain.
		if err := c.runAdvance(ctx, i, wm, out); err != nil {
			return err
		}
	}
	return nil
}

func (c *chain) runAdvance(ctx context.Context, i int, wm int64, out *stream.Emitter) error {
	return c.run(ctx, i, nil, out, true, wm)
}

// Snapshot concatenates the stages' snapshots, length-prefixed.
func (c *chain) Snapshot() ([]byte, error) {
	buf := []byte{1}
	for i, op := range c.ops {
		var data []byte
		if s, ok := op.(stream.Snapshotter); ok {
			d, err := s.Snapshot()
			if err != nil {
				return nil, fmt.Errorf("chain stage %d: %w", i, err)
			}
			data = d
		}
		buf = binary.AppendUvarint(buf, uint64(len(data)))
		buf = append(buf, data...)
	}
	return buf, nil
}

// Restore reads what Snapshot wrote.
func (c *chain) Restore(data []byte) error {
	if len(data) == 0 || data[0] != 1 {
		return errors.New("chain: unknown snapshot version")
	}
	data = data[1:]
	for i, op := range c.ops {
		n, k := binary.Uvarint(data)
		if k <= 0 || uint64(len(data)-k) < n {
			return fmt.Errorf("chain stage %d: truncated snapshot", i)
		}
		part := data[k : k+int(n)]
		data = data[k+int(n):]
		if s, ok := op.(stream.Snapshotter); ok {
			if err := s.Restore(part); err != nil {
				return fmt.Errorf("chain stage %d: %w", i, err)
			}
		} else if len(part) > 0 {
			return fmt.Errorf("chain stage %d: snapshot for a stateless stage", i)
		}
	}
	if len(data) > 0 {
		return errors.New("chain: trailing bytes in snapshot")
	}
	return nil
}

// Shed forwards to the stages that can shed state (the memory budget).
func (c *chain) Shed(fraction float64) {
	for _, op := range c.ops {
		if s, ok := op.(stream.Shedder); ok {
			s.Shed(fraction)
		}
	}
}

// Release forwards to the stages that hold something.
func (c *chain) Release() {
	for _, op := range c.ops {
		if r, ok := op.(stream.Releaser); ok {
			r.Release()
		}
	}
}

// EmitsInArrivalOrder says whether every stage emits in arrival order
// (stream.ArrivalOrdered): then so does the chain, each stage taking the
// batch in the order the one before emitted it.
func (c *chain) EmitsInArrivalOrder() bool {
	for _, op := range c.ops {
		if a, ok := op.(stream.ArrivalOrdered); !ok || !a.EmitsInArrivalOrder() {
			return false
		}
	}
	return true
}
