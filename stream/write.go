package stream

import (
	"context"
	"fmt"
	"time"
)

// write sends each message's events to the sinks, flushes them when the
// message carries acks or checkpoints, then acknowledges the input the
// message settles; its checkpoints go to a saver goroutine, which saves
// them in order and then acknowledges what they cover, while the writer
// goes on writing what follows (outputs beyond a checkpoint are written
// again, idempotently, by a replay from it): a checkpoint's save does not
// hold back the next decisions.
func (r *runner) write(ctx context.Context, out <-chan *outMsg) (err error) {
	p := r.p
	sv := r.startSaver(ctx)
	defer func() {
		if serr := sv.close(); err == nil {
			err = serr
		}
	}()
	var flushers []Flusher
	for _, s := range r.allSinks() {
		if f, ok := s.(Flusher); ok {
			flushers = append(flushers, f)
		}
	}
	flush := func() error {
		for _, f := range flushers {
			if err := protect("sink flush", func() error { return f.Flush(ctx) }); err != nil {
				p.latency.dropped()
				return fmt.Errorf("sink flush: %w", err)
			}
		}
		p.latency.flushed(r.cfg.Clock.Now())
		return nil
	}
	var failed error
	// Events written since the last flush wait in the sinks' batches; when
	// no message is waiting at a tick, they are flushed, so that a quiet
	// input's last results reach the sinks within FlushInterval.
	dirty := false
	// Under a load that never leaves it idle, the writer still flushes
	// every maxFlushDelay: results do not wait for full batches.
	const maxFlushDelay = 100 * time.Millisecond
	lastFlush := r.cfg.Clock.Now()
	tick, stop := r.cfg.Clock.NewTicker(r.cfg.FlushInterval)
	defer stop()
	for {
		var msg *outMsg
		select {
		case m, ok := <-out:
			if !ok {
				if failed != nil {
					return failed
				}
				return flush()
			}
			msg = m
		case now := <-tick:
			if dirty && failed == nil && (len(out) == 0 || now.Sub(lastFlush) >= maxFlushDelay) {
				if err := flush(); err != nil {
					failed = err
					r.setErr(err)
				}
				dirty, lastFlush = false, now
			}
			continue
		}
		if failed == nil {
			if serr := sv.failed(); serr != nil {
				failed = serr // setErr'd by the saver
			}
		}
		if failed != nil {
			// Nack what follows a failure so the source can redeliver it.
			r.unwritten.Add(int64(r.outputs(msg)))
			settle(ctx, msg, failed)
			msg.reset()
			r.free <- msg
			continue
		}
		err := r.writeMsg(ctx, msg)
		if err == nil {
			p.latency.written(msg.events)
		}
		if len(msg.events) > 0 || len(msg.late) > 0 || len(msg.dead) > 0 {
			dirty = true
		}
		if err == nil && (len(msg.acks) > 0 || len(msg.cps) > 0) {
			err = flush()
			dirty, lastFlush = false, r.cfg.Clock.Now()
		}
		if err == nil && len(msg.cps) > 0 {
			// The saver saves and settles the checkpoints; the message's
			// own acks are settled here.
			sv.save(ctx, msg.cps)
			clear(msg.cps)
			msg.cps = msg.cps[:0]
		}
		if aerr := settle(ctx, msg, err); aerr != nil && err == nil {
			err = aerr
		}
		if err == nil {
			p.stats.out.Add(int64(len(msg.events)))
		} else {
			failed = err
			r.setErr(err)
		}
		msg.reset()
		r.free <- msg
	}
}

// settle acks (err == nil) or nacks what a message holds.
func settle(ctx context.Context, msg *outMsg, err error) error {
	var first error
	ack := func(a AckFunc) {
		if aerr := a(ctx, err); aerr != nil && first == nil {
			first = fmt.Errorf("ack: %w", aerr)
		}
	}
	for _, a := range msg.acks {
		ack(a)
	}
	for _, cp := range msg.cps {
		for _, a := range cp.acks {
			ack(a)
		}
		if cp.done != nil {
			cp.done <- err
		}
	}
	return first
}

func (r *runner) writeMsg(ctx context.Context, msg *outMsg) error {
	p := r.p
	if len(msg.dead) > 0 && p.deadLetter != nil {
		if err := protect("dead-letter sink", func() error { return p.deadLetter.Write(ctx, msg.dead) }); err != nil {
			return fmt.Errorf("dead-letter sink: %w", err)
		}
	}
	if len(msg.late) > 0 && p.late != nil {
		write := func() error { return p.late.Write(ctx, msg.late) }
		if lw, ok := p.late.(LateWriter); ok {
			write = func() error { return lw.WriteLate(ctx, msg.late, msg.lateWM) }
		}
		if err := protect("late sink", write); err != nil {
			return fmt.Errorf("late sink: %w", err)
		}
	}
	if len(msg.events) > 0 {
		for i, s := range p.sinks {
			if err := protect(fmt.Sprintf("sink %d", i), func() error { return s.Write(ctx, msg.events) }); err != nil {
				return fmt.Errorf("sink %d: %w", i, err)
			}
		}
	}
	return nil
}

// outputs counts what a message holds for the sinks: its events, and the
// dead letters and late events that have a sink.
func (r *runner) outputs(msg *outMsg) int {
	n := len(msg.events)
	if r.p.deadLetter != nil {
		n += len(msg.dead)
	}
	if r.p.late != nil {
		n += len(msg.late)
	}
	return n
}
