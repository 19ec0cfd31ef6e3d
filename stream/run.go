package stream

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// ErrAlreadyRun is returned by a second call of Run.
var ErrAlreadyRun = errors.New("stream: pipeline already run")

// PanicError is a panic in user code (an operator, sink or source) turned
// into an error.
type PanicError struct {
	Stage string
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic in %s: %v", e.Stage, e.Value) }

func protect(stage string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Stage: stage, Value: r, Stack: debug.Stack()}
		}
	}()
	return fn()
}

type inMsg struct {
	src   int
	batch Batch
	eof   bool
}

type outMsg struct {
	events []Event
	late   []Event
	dead   []Event
	acks   []AckFunc
}

// runner holds the state of one Run.
type runner struct {
	p        *Pipeline
	cfg      Config
	tracker  *WatermarkTracker
	emitters []Emitter
	lastWM   int64
	eof      []bool
	errOnce  sync.Once
	err      error
	fail     context.CancelFunc
	free     chan *outMsg
}

func (r *runner) setErr(err error) {
	if err == nil {
		return
	}
	r.errOnce.Do(func() {
		r.err = err
		r.fail()
	})
}

// Run runs the pipeline until every source ends (then it fires everything
// pending at the final watermark, flushes and returns nil), an error occurs
// (returned), or ctx is cancelled (it stops reading, drains what is in
// flight, flushes the sinks and returns ctx.Err()).
func (p *Pipeline) Run(ctx context.Context) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if !p.started.CompareAndSwap(false, true) {
		return ErrAlreadyRun
	}
	cfg := p.cfg
	r := &runner{p: p, cfg: cfg, emitters: make([]Emitter, len(p.ops)), lastWM: MinWatermark, eof: make([]bool, len(p.sources))}
	r.tracker = NewWatermarkTracker(cfg.OutOfOrderness, cfg.IdleTimeout)
	p.stats.wm.Store(MinWatermark)

	// failCtx is cancelled on the first error: everything stops.
	failCtx, fail := context.WithCancel(context.WithoutCancel(ctx))
	defer fail()
	r.fail = fail
	// readCtx also ends when the caller cancels: input stops first.
	readCtx, stopRead := context.WithCancel(failCtx)
	defer stopRead()
	stopOnCancel := context.AfterFunc(ctx, stopRead)
	defer stopOnCancel()
	// workCtx outlives the caller's cancellation by ShutdownTimeout so that
	// in-flight events drain and acks go through.
	workCtx, cancelWork := context.WithCancel(failCtx)
	defer cancelWork()
	stopTimer := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(cfg.ShutdownTimeout, cancelWork)
		context.AfterFunc(workCtx, func() { t.Stop() })
	})
	defer stopTimer()

	if err := r.start(workCtx); err != nil {
		r.closeAll(context.WithoutCancel(ctx))
		return err
	}

	in := make(chan inMsg, cfg.Buffer)
	out := make(chan *outMsg, cfg.Buffer)
	free := make(chan *outMsg, cfg.Buffer+2)
	for i := 0; i < cfg.Buffer+2; i++ {
		free <- &outMsg{}
	}
	r.free = free

	var readers sync.WaitGroup
	for i, src := range p.sources {
		readers.Add(1)
		go func() {
			defer readers.Done()
			r.setErr(r.read(readCtx, i, src, in))
		}()
	}
	go func() {
		readers.Wait()
		close(in)
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.setErr(r.write(workCtx, out, free))
	}()
	r.setErr(r.process(workCtx, in, out, free))
	close(out)
	<-done
	// Drain the input channel if processing stopped early, nacking batches.
	for m := range in {
		if m.batch.Ack != nil {
			_ = m.batch.Ack(workCtx, context.Canceled)
		}
	}
	closeErr := r.closeAll(context.WithoutCancel(ctx))
	if r.err != nil {
		return r.err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return closeErr
}

func (r *runner) start(ctx context.Context) error {
	env := Env{Pipeline: r.p.name, Config: r.cfg, Logger: r.cfg.Logger, Clock: r.cfg.Clock}
	for _, s := range r.p.sources {
		if c, ok := s.(Connecter); ok {
			if err := c.Connect(ctx); err != nil {
				return fmt.Errorf("source %s: connect: %w", s.Name(), err)
			}
		}
	}
	for _, s := range r.allSinks() {
		if c, ok := s.(Connecter); ok {
			if err := c.Connect(ctx); err != nil {
				return fmt.Errorf("sink: connect: %w", err)
			}
		}
	}
	for i, op := range r.p.ops {
		if st, ok := op.(Starter); ok {
			if err := protect(fmt.Sprintf("operator %d start", i), func() error { return st.Start(ctx, env) }); err != nil {
				return fmt.Errorf("operator %d: start: %w", i, err)
			}
		}
	}
	return nil
}

func (r *runner) allSinks() []Sink {
	sinks := append([]Sink(nil), r.p.sinks...)
	if r.p.deadLetter != nil {
		sinks = append(sinks, r.p.deadLetter)
	}
	if r.p.late != nil {
		sinks = append(sinks, r.p.late)
	}
	return sinks
}

func (r *runner) closeAll(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	for _, s := range r.p.sources {
		if err := protect("source close", func() error { return s.Close(ctx) }); err != nil {
			errs = append(errs, fmt.Errorf("source %s: close: %w", s.Name(), err))
		}
	}
	for _, s := range r.allSinks() {
		if err := protect("sink close", func() error { return s.Close(ctx) }); err != nil {
			errs = append(errs, fmt.Errorf("sink close: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (r *runner) read(ctx context.Context, i int, src Source, in chan<- inMsg) error {
	for {
		var b Batch
		err := protect("source "+src.Name(), func() error {
			var err error
			b, err = src.Read(ctx)
			return err
		})
		if errors.Is(err, ErrEndOfInput) {
			select {
			case in <- inMsg{src: i, eof: true}:
			case <-ctx.Done():
			}
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped: not an error of the source
			}
			return fmt.Errorf("source %s: %w", src.Name(), err)
		}
		select {
		case in <- inMsg{src: i, batch: b}:
		case <-ctx.Done():
			if b.Ack != nil {
				_ = b.Ack(context.WithoutCancel(ctx), context.Canceled)
			}
			return nil
		}
	}
}

func (r *runner) process(ctx context.Context, in <-chan inMsg, out chan<- *outMsg, free chan *outMsg) error {
	tick, stopTick := r.cfg.Clock.NewTicker(r.cfg.TickInterval)
	defer stopTick()
	eofCount := 0
	for {
		select {
		case m, ok := <-in:
			if !ok {
				if eofCount == len(r.p.sources) && ctx.Err() == nil {
					r.tracker.AllDone()
					return r.advance(ctx, out, free, nil)
				}
				return nil
			}
			if m.eof {
				r.eof[m.src] = true
				eofCount++
				r.tracker.Finish(m.src)
				if err := r.advance(ctx, out, free, nil); err != nil {
					return err
				}
				continue
			}
			if err := r.batch(ctx, m, out, free); err != nil {
				if m.batch.Ack != nil {
					_ = m.batch.Ack(ctx, err)
				}
				return err
			}
		case <-tick:
			if err := r.advance(ctx, out, free, nil); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		}
	}
}

func (r *runner) getMsg(ctx context.Context, free chan *outMsg) (*outMsg, error) {
	select {
	case m := <-free:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// batch handles one source batch: dead letters, event time, lateness,
// operators, then the watermark.
func (r *runner) batch(ctx context.Context, m inMsg, out chan<- *outMsg, free chan *outMsg) error {
	msg, err := r.getMsg(ctx, free)
	if err != nil {
		return err
	}
	st := &r.p.stats
	st.batches.Add(1)
	now := r.cfg.Clock.Now()
	for _, rej := range m.batch.Rejects {
		msg.dead = append(msg.dead, DeadLetterEvent(rej))
	}
	st.dead.Add(int64(len(m.batch.Rejects)))
	if len(m.batch.Rejects) > 0 && r.p.deadLetter == nil {
		for _, rej := range m.batch.Rejects {
			r.cfg.Logger.Warn("dead letter", "position", rej.Pos.String(), "reason", rej.Reason)
		}
	}
	evs := m.batch.Events
	st.in.Add(int64(len(evs)))
	cutoff := MinWatermark
	if r.lastWM != MinWatermark {
		cutoff = r.lastWM - int64(r.cfg.AllowedLateness)
	}
	kept := evs[:0]
	var pid PartitionID
	pid.Source = m.src
	maxTime := st.maxTime.Load()
	newMax := maxTime
	for i := range evs {
		ev := &evs[i]
		if r.cfg.ProcessingTime {
			ev.Time = now.UnixNano()
		}
		pid.Partition = ev.Pos.Partition
		r.tracker.Observe(pid, ev.Time, now)
		if ev.Time > newMax {
			newMax = ev.Time
		}
		if ev.Time < cutoff {
			msg.late = append(msg.late, *ev)
			continue
		}
		kept = append(kept, *ev)
	}
	if newMax > maxTime {
		st.maxTime.Store(newMax)
	}
	st.late.Add(int64(len(msg.late)))
	if m.batch.Ack != nil {
		msg.acks = append(msg.acks, m.batch.Ack)
	}
	return r.run(ctx, msg, kept, out, now)
}

// advance re-evaluates the watermark with no new events.
func (r *runner) advance(ctx context.Context, out chan<- *outMsg, free chan *outMsg, _ []Event) error {
	msg, err := r.getMsg(ctx, free)
	if err != nil {
		return err
	}
	return r.run(ctx, msg, nil, out, r.cfg.Clock.Now())
}

// run pushes events through the operators, advancing them if the watermark
// moved, and hands the result to the writer.
func (r *runner) run(ctx context.Context, msg *outMsg, evs []Event, out chan<- *outMsg, now time.Time) error {
	if r.cfg.ProcessingTime && !r.tracker.allDone {
		r.tracker.Observe(PartitionID{Source: -1}, now.UnixNano(), now)
	}
	wm, advanced := r.tracker.Update(now)
	if advanced {
		r.lastWM = wm
		r.p.stats.wm.Store(wm)
	}
	if len(r.p.ops) == 0 {
		// Pass-through: the batch belongs to the runner, hand it on as is.
		msg.events = evs
	} else {
		for i, op := range r.p.ops {
			em := &r.emitters[i]
			em.Reset()
			if i == len(r.p.ops)-1 {
				// The last operator writes straight into the message.
				em.events, msg.events = msg.events[:0], nil
			}
			if len(evs) > 0 {
				if err := protect(fmt.Sprintf("operator %d", i), func() error { return op.Process(ctx, evs, em) }); err != nil {
					return fmt.Errorf("operator %d: %w", i, err)
				}
			}
			if advanced {
				if err := protect(fmt.Sprintf("operator %d", i), func() error { return op.Advance(ctx, wm, em) }); err != nil {
					return fmt.Errorf("operator %d: advance: %w", i, err)
				}
			}
			if len(em.late) > 0 {
				msg.late = append(msg.late, em.late...)
				r.p.stats.late.Add(int64(len(em.late)))
			}
			for _, rej := range em.dead {
				msg.dead = append(msg.dead, DeadLetterEvent(rej))
			}
			r.p.stats.dead.Add(int64(len(em.dead)))
			evs = em.events
			if i == len(r.p.ops)-1 {
				msg.events, em.events = em.events, nil
			}
		}
	}
	if len(msg.events) == 0 && len(msg.late) == 0 && len(msg.dead) == 0 && len(msg.acks) == 0 {
		msg.reset()
		r.free <- msg // never blocks: free holds every message
		return nil
	}
	select {
	case out <- msg:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *outMsg) reset() {
	m.events = m.events[:0]
	m.late = m.late[:0]
	m.dead = m.dead[:0]
	clear(m.acks)
	m.acks = m.acks[:0]
}

// write sends each message's events to the sinks, then acknowledges the
// input batches it carries.
func (r *runner) write(ctx context.Context, out <-chan *outMsg, free chan<- *outMsg) error {
	p := r.p
	var flushers []Flusher
	for _, s := range r.allSinks() {
		if f, ok := s.(Flusher); ok {
			flushers = append(flushers, f)
		}
	}
	flush := func() error {
		for _, f := range flushers {
			if err := protect("sink flush", func() error { return f.Flush(ctx) }); err != nil {
				return fmt.Errorf("sink flush: %w", err)
			}
		}
		return nil
	}
	var failed error
	for msg := range out {
		if failed != nil {
			// Nack what follows a failure so the source can redeliver it.
			for _, a := range msg.acks {
				_ = a(ctx, failed)
			}
			msg.reset()
			free <- msg
			continue
		}
		err := r.writeMsg(ctx, msg)
		if err == nil && len(msg.acks) > 0 {
			err = flush()
		}
		for _, a := range msg.acks {
			if aerr := a(ctx, err); aerr != nil && err == nil {
				err = fmt.Errorf("ack: %w", aerr)
			}
		}
		if err == nil {
			p.stats.out.Add(int64(len(msg.events)))
		} else {
			failed = err
			r.setErr(err)
		}
		msg.reset()
		free <- msg
	}
	if failed != nil {
		return failed
	}
	return flush()
}

func (r *runner) writeMsg(ctx context.Context, msg *outMsg) error {
	p := r.p
	if len(msg.dead) > 0 && p.deadLetter != nil {
		if err := protect("dead-letter sink", func() error { return p.deadLetter.Write(ctx, msg.dead) }); err != nil {
			return fmt.Errorf("dead-letter sink: %w", err)
		}
	}
	if len(msg.late) > 0 && p.late != nil {
		if err := protect("late sink", func() error { return p.late.Write(ctx, msg.late) }); err != nil {
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
