package stream

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
)

// ErrAlreadyRun is returned by a second call of Run.
var ErrAlreadyRun = errors.New("stream: pipeline already run")

// errNotRunning is returned by the partition hooks outside Run.
var errNotRunning = errors.New("stream: pipeline not running")

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

type revokeReq struct {
	pid  PartitionID
	done chan error
}

type cpWrite struct {
	key    string
	cp     *Checkpoint
	acks   []AckFunc
	done   chan error
	origin *Origin // told once cp is saved
}

type outMsg struct {
	events []Event
	late   []Event
	lateWM []int64 // per late event: the watermark it was found behind
	dead   []Event
	acks   []AckFunc
	cps    []cpWrite
}

func (m *outMsg) empty() bool {
	return len(m.events) == 0 && len(m.late) == 0 && len(m.dead) == 0 && len(m.acks) == 0 && len(m.cps) == 0
}

func (m *outMsg) reset() {
	m.events = m.events[:0]
	m.late = m.late[:0]
	m.lateWM = m.lateWM[:0]
	m.dead = m.dead[:0]
	clear(m.acks)
	m.acks = m.acks[:0]
	clear(m.cps)
	m.cps = m.cps[:0]
}

// runner holds the state of one Run.
type runner struct {
	p      *Pipeline
	cfg    Config
	single *task                 // the one task of an ordinary pipeline
	tasks  map[PartitionID]*task // per-partition tasks of a partitioned one
	in     chan inMsg            // what processing takes: forwarded from raw until reading stops
	raw    chan inMsg            // what the readers read
	// readDone[i] is closed when source i's reader returned (nil before
	// the readers start).
	readDone []chan struct{}
	ctrl     chan *revokeReq
	// unread counts the batches with events a reader took from its source
	// that processing has not taken in yet: while some wait, the input is
	// not quiet (Config.IdleAdvance), however long processing took.
	unread atomic.Int64
	free   chan *outMsg
	done   chan struct{} // closed when processing ended
	// err holds the first error of the run (setErr); processing reads it
	// while the writer and the saver may set it.
	err  atomic.Pointer[error]
	fail context.CancelFunc

	env Env // what operators are started with

	restoreMu sync.Mutex
	restores  map[PartitionID]*Checkpoint
	// resumed holds, by checkpoint, the offsets resumable sources resumed
	// at (resumeSources), for the task restored from it.
	resumed map[PartitionID][]resumePoint

	gov *governor // the memory budget's, if any

	// unwritten counts the outputs the writer dropped after a failure.
	unwritten atomic.Int64

	// the partition last counted (Config.CountSources), processing only
	lastCount    *sourceCounter
	lastCountPID PartitionID
}

func (r *runner) setErr(err error) {
	if err == nil {
		return
	}
	if r.err.CompareAndSwap(nil, &err) {
		r.fail()
	}
}

// firstErr returns the run's first error (setErr), if any.
func (r *runner) firstErr() error {
	if e := r.err.Load(); e != nil {
		return *e
	}
	return nil
}

// Run runs the pipeline until every source ends (then it fires everything
// pending at the final watermark, flushes and returns nil), an error occurs
// (returned), or ctx is cancelled (it stops reading, drains what is in
// flight, flushes the sinks, takes a last checkpoint and returns ctx.Err(),
// or a *ShutdownError when that and closing the sources and sinks did not
// all succeed within Config.ShutdownTimeout).
func (p *Pipeline) Run(ctx context.Context) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if !p.started.CompareAndSwap(false, true) {
		return ErrAlreadyRun
	}
	cfg := p.cfg
	r := &runner{p: p, cfg: cfg, tasks: map[PartitionID]*task{}, restores: map[PartitionID]*Checkpoint{},
		resumed: map[PartitionID][]resumePoint{}, done: make(chan struct{})}
	if p.factory == nil {
		r.single = newTask(PartitionID{Partition: -1}, p.ops, r.newTracker(cfg.IdleTimeout))
		// The partitions known before reading (a file's) hold the watermark
		// from the start: events of a file read late are not late.
		now := cfg.Clock.Now()
		for i, src := range p.sources {
			if pl, ok := src.(PartitionLister); ok {
				for _, part := range pl.Partitions() {
					r.single.tracker.Expect(PartitionID{Source: i, Partition: part}, now)
				}
			}
		}
	}
	if cfg.CountSources {
		now := cfg.Clock.Now()
		for i, src := range p.sources {
			if pl, ok := src.(PartitionLister); ok {
				for _, part := range pl.Partitions() {
					p.registerSource(i, part, now)
				}
			}
		}
	}
	p.stats.wm.Store(MinWatermark)
	r.gov = newGovernor(cfg.MemoryBudget)
	defer r.gov.stop()

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
	// in-flight events drain and acks go through; closing gets what is left
	// of that budget.
	workCtx, cancelWork := context.WithCancel(failCtx)
	defer cancelWork()
	shutdown := &shutdownTimer{timeout: cfg.ShutdownTimeout, cutWork: cancelWork}
	stopTimer := context.AfterFunc(ctx, shutdown.arm)
	defer stopTimer()
	defer shutdown.stop()

	r.in = make(chan inMsg, cfg.Buffer)
	r.raw = make(chan inMsg)
	r.ctrl = make(chan *revokeReq)
	out := make(chan *outMsg, cfg.Buffer)
	r.free = make(chan *outMsg, cfg.Buffer+2)
	for i := 0; i < cfg.Buffer+2; i++ {
		r.free <- &outMsg{}
	}
	p.runner.Store(r)
	defer p.runner.Store(nil)

	if err := r.start(workCtx); err != nil {
		close(r.done)
		closeCtx, cancel := shutdown.closeContext(context.WithoutCancel(ctx))
		defer cancel()
		r.closeAll(closeCtx)
		return err
	}

	var readers sync.WaitGroup
	r.readDone = make([]chan struct{}, len(p.sources))
	for i, src := range p.sources {
		readers.Add(1)
		r.readDone[i] = make(chan struct{})
		go func() {
			defer readers.Done()
			defer close(r.readDone[i])
			r.setErr(r.read(readCtx, i, src))
		}()
	}
	go func() {
		readers.Wait()
		close(r.raw)
	}()
	go r.forward(readCtx)
	// Partitions a source announces as revoked leave the watermark minimum.
	// A partitioned pipeline learns of them through RevokePartition instead,
	// in order with assignments (an announcement may come after the same
	// partition was assigned here again).
	for i, src := range p.sources {
		if ps, ok := src.(PartitionSource); ok && p.factory == nil {
			go r.forwardRevoked(readCtx, i, ps)
		}
	}
	written := make(chan struct{})
	go func() {
		defer close(written)
		r.setErr(r.write(workCtx, out))
	}()
	r.setErr(r.process(workCtx, out))
	close(r.done)
	close(out)
	<-written
	// Nack what processing did not take (it stopped early on an error).
	for m := range r.in {
		if m.batch.Ack != nil {
			_ = m.batch.Ack(workCtx, context.Canceled)
		}
	}
	cut := shutdown.stop()
	closeCtx, cancelClose := shutdown.closeContext(context.WithoutCancel(ctx))
	defer cancelClose()
	closeErr := r.closeAll(closeCtx)
	if ctx.Err() != nil && (cut || closeErr != nil) {
		// The errors the cut caused stand for what it interrupted.
		return &ShutdownError{Timeout: cfg.ShutdownTimeout, TimedOut: cut, Unwritten: r.unwritten.Load(),
			Err: errors.Join(r.firstErr(), closeErr)}
	}
	if err := r.firstErr(); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return closeErr
}

func (r *runner) start(ctx context.Context) error {
	if err := r.resumeSources(ctx); err != nil {
		return err
	}
	for _, s := range r.p.sources {
		if c, ok := s.(Connecter); ok {
			if err := c.Connect(ctx); err != nil {
				return fmt.Errorf("source %s: connect: %w", s.Name(), err)
			}
		}
	}
	r.env = r.newEnv()
	env := r.env
	for _, s := range r.allSinks() {
		if c, ok := s.(Connecter); ok {
			if err := c.Connect(ctx); err != nil {
				return fmt.Errorf("sink: connect: %w", err)
			}
		}
	}
	if r.single != nil {
		if err := startOps(ctx, r.single.ops, env); err != nil {
			return err
		}
		return r.restoreSingle(r.cfg.Clock.Now())
	}
	return nil
}

// newEnv describes the pipeline to its operators, with the schemas the
// sources declare.
func (r *runner) newEnv() Env {
	env := Env{Pipeline: r.p.name, Config: r.cfg, Logger: r.cfg.Logger, Clock: r.cfg.Clock}
	same := true
	for i, src := range r.p.sources {
		var sc *Schema
		if ss, ok := src.(SchemaSource); ok {
			sc = ss.Schema()
		}
		if sc != nil && !slices.Contains(env.Schemas, sc) {
			env.Schemas = append(env.Schemas, sc)
		}
		if i == 0 {
			env.Schema = sc
		} else if sc != env.Schema {
			same = false
		}
	}
	if !same {
		env.Schema = nil
	}
	for _, sc := range r.cfg.Schemas {
		if !slices.Contains(env.Schemas, sc) {
			env.Schemas = append(env.Schemas, sc)
		}
	}
	return env
}

func startOps(ctx context.Context, ops []Operator, env Env) error {
	for i, op := range ops {
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

// closeAll closes the sources and sinks under ctx, which bounds it. A
// source is closed once its reader has returned (Close never runs beside
// Read), except one whose Read may block on a pipe whatever ctx says and
// whose Close does nothing (stdin): its reader is not waited for.
func (r *runner) closeAll(ctx context.Context) error {
	var errs []error
	for i, s := range r.p.sources {
		if r.readDone != nil && !readsUninterruptibly(s) {
			select {
			case <-r.readDone[i]:
			case <-ctx.Done():
				errs = append(errs, fmt.Errorf("source %s: its Read did not return after cancellation: not closed", s.Name()))
				continue
			}
		}
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

func (r *runner) read(ctx context.Context, i int, src Source) error {
	for {
		var b Batch
		err := protect("source "+src.Name(), func() error {
			var err error
			b, err = src.Read(ctx)
			return err
		})
		if errors.Is(err, ErrEndOfInput) {
			select {
			case r.raw <- inMsg{src: i, eof: true}:
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
		if n := len(b.Events); n > 0 {
			r.unread.Add(1)
			now := r.cfg.Clock.Now().UnixNano()
			for k := range b.Events {
				if b.Events[k].Arrived == 0 {
					b.Events[k].Arrived = now
				}
			}
		}
		select {
		case r.raw <- inMsg{src: i, batch: b}:
		case <-ctx.Done():
			if len(b.Events) > 0 {
				r.unread.Add(-1)
			}
			nack(ctx, b)
			return nil
		}
	}
}

// forward hands what the readers read to processing, and closes r.in when
// every reader has returned or reading stops (ctx, the caller's
// cancellation or a failure): processing then drains what it was handed
// and finishes even while a source is stuck in a Read that ignores ctx
// (stdin). Whatever is read after that is nacked, by a goroutine that
// lives as long as such a reader.
func (r *runner) forward(ctx context.Context) {
	defer close(r.in)
	for {
		select {
		case m, ok := <-r.raw:
			if !ok {
				return
			}
			select {
			case r.in <- m:
				continue
			case <-ctx.Done():
				nack(ctx, m.batch)
			}
		case <-ctx.Done():
		}
		go func() {
			for m := range r.raw {
				nack(ctx, m.batch)
			}
		}()
		return
	}
}

// nack tells a batch's source that it was not processed.
func nack(ctx context.Context, b Batch) {
	if b.Ack != nil {
		_ = b.Ack(context.WithoutCancel(ctx), context.Canceled)
	}
}

// forwardRevoked turns a source's revoked partitions into revoke requests.
func (r *runner) forwardRevoked(ctx context.Context, src int, ps PartitionSource) {
	for {
		select {
		case part, ok := <-ps.Revoked():
			if !ok {
				return
			}
			req := &revokeReq{pid: PartitionID{Source: src, Partition: part}, done: make(chan error, 1)}
			select {
			case r.ctrl <- req:
			case <-r.done:
				return
			case <-ctx.Done():
				return
			}
		case <-r.done:
			return
		case <-ctx.Done():
			return
		}
	}
}
