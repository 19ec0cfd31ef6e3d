package stream

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"
)

// Config holds the settings of a pipeline. Zero values mean the defaults.
type Config struct {
	// OutOfOrderness is the watermark's bound: a partition's watermark is the
	// highest event time it has seen minus this. Decisions taken on the
	// watermark therefore wait this long (in event time) for stragglers.
	OutOfOrderness time.Duration
	// AllowedLateness lets events behind the watermark by at most this much
	// still enter the operators (windows update already-fired results);
	// events later than that go to the late sink and are counted. Default 0.
	AllowedLateness time.Duration
	// MaxAhead and AheadConfirm guard each partition's watermark against
	// outliers: an event more than MaxAhead beyond the highest event time
	// of its partition the data supports (a future-dated record) does not
	// move the watermark until AheadConfirm such events arrived in a row (a
	// real jump of the data), and a partition's watermark starts at its
	// first event another one within MaxAhead supports; such events are
	// still processed, on time, and counted in Stats.Ahead (see
	// WatermarkTracker).
	// A real jump therefore moves the watermark AheadConfirm events late.
	// MaxAhead must exceed the usual gap between a partition's consecutive
	// events. Defaults 1h and 8; a negative MaxAhead, or AheadConfirm 1,
	// disables the guard (every event moves the watermark). Off with
	// ProcessingTime.
	MaxAhead     time.Duration
	AheadConfirm int
	// IdleTimeout is how long (processing time) a partition may go without
	// events before it stops holding back the pipeline watermark. Default
	// 30s; negative disables.
	IdleTimeout time.Duration
	// IdleAdvance, for a live input, moves event time with processing time
	// while the input is quiet: once no partition of a chain had an event
	// for IdleAdvance, its watermark is the newest event time seen plus the
	// processing time since the latest event arrived (WatermarkTracker.
	// SetIdleAdvance), so that absences and windows are decided when their
	// time passes rather than when the next events arrive. A run stopped
	// before the end of its input without Checkpoints, its input quiet for
	// IdleAdvance, also decides as it stops what is due on the wall clock.
	// Past a quiet spell the OutOfOrderness bound no longer protects older
	// events (see WatermarkTracker.SetIdleAdvance). Default 0: off
	// (the watermark holds while every partition is idle). Off with
	// ProcessingTime.
	IdleAdvance time.Duration
	// ProcessingTime stamps each event with the processing time at ingestion
	// instead of its own event time.
	ProcessingTime bool
	// Parallelism, for a partitioned pipeline (ViaPartitioned), splits each
	// partition's events by Key across this many copies of the operators
	// (lanes), run concurrently on a batch and joined before the next, so
	// that one partition uses several cores. Per-key state stays in one lane;
	// use it when operator state is keyed by something that determines the
	// event's Key (a user's logins). Checkpoints record the lane count: a
	// partition restores only into the same Parallelism. Default 1.
	Parallelism int
	// Buffer is how many batches may wait between the stages (backpressure).
	// Default 4.
	Buffer int
	// TickInterval is how often the runner re-evaluates the watermark when no
	// batch arrives (idle partitions, processing-time mode). Default 200ms.
	TickInterval time.Duration
	// FlushInterval is how long results may wait in the sinks' batches while
	// no input arrives: the writer flushes the sinks when it finds nothing
	// to write at one of these ticks (and always before acknowledging
	// input). Default 10ms.
	FlushInterval time.Duration
	// ShutdownTimeout bounds the whole shutdown after Run's ctx is
	// cancelled: draining, flushing, the last checkpoints, and closing the
	// sources and sinks. Past it the work is cut short and Run returns a
	// *ShutdownError. Default 30s.
	ShutdownTimeout time.Duration
	// Checkpoints, for a partitioned pipeline (ViaPartitioned), stores each
	// partition's offset, watermark and operator state every
	// CheckpointInterval, when a partition is revoked and on shutdown. Input
	// batches are then acknowledged only once a checkpoint covering them is
	// saved, after their output was written and flushed. A ResumableSource
	// (a file, or a followed glob: one source, whose files share the
	// operators of an ordinary pipeline) is checkpointed the same way, with
	// each file's offset, and resumes there at the next Run.
	Checkpoints CheckpointStore
	// CheckpointInterval is the processing time between checkpoints of a
	// partition. Default 1s.
	CheckpointInterval time.Duration
	// Schemas are schemas the pipeline's events and joined records use,
	// besides those the sources declare; snapshot restores reuse these
	// pointers. Operators find them in Env.Schemas.
	Schemas []*Schema
	// CountSources counts the events read per source partition (each file,
	// each Kafka partition), for Pipeline.SourceStats: what a per-source
	// silence check judges. Its cost is a map lookup and two atomic
	// writes per run of one partition's events in a batch.
	CountSources bool
	// MemoryBudget bounds the process's live heap, in bytes (0: no bound).
	// The runner sets the Go runtime's soft memory limit to it (unless a
	// lower one is set, GOMEMLIMIT, which is then the budget), so that the
	// collector works harder as the heap nears it. When the live heap passes
	// 90% of it, every operator implementing Shedder drops the oldest part
	// of its state, what brings the heap back to 80% of the budget (an
	// eighth to a half): windows fire early, keys forget their partial
	// matches, buffered events are released early (see each operator);
	// counted as its evictions, logged, and counted in Stats.Sheds; again
	// after two more collections while the heap stays above. The process
	// then degrades its results instead of dying by the OOM killer.
	MemoryBudget int64
	// Clock is the processing-time clock. Default: the system clock.
	Clock Clock
	// Logger receives the pipeline's logs. Default: discard.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 30 * time.Second
	}
	if c.IdleTimeout < 0 {
		c.IdleTimeout = 0
	}
	if c.MaxAhead == 0 {
		c.MaxAhead = time.Hour
	}
	if c.AheadConfirm == 0 {
		c.AheadConfirm = 8
	}
	if c.Buffer <= 0 {
		c.Buffer = 4
	}
	if c.TickInterval <= 0 {
		c.TickInterval = 200 * time.Millisecond
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 10 * time.Millisecond
	}
	if c.CheckpointInterval <= 0 {
		c.CheckpointInterval = time.Second
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.IdleAdvance < 0 {
		errs = append(errs, errors.New("IdleAdvance must not be negative"))
	}
	if c.OutOfOrderness < 0 {
		errs = append(errs, errors.New("OutOfOrderness must not be negative"))
	}
	if c.AllowedLateness < 0 {
		errs = append(errs, errors.New("AllowedLateness must not be negative"))
	}
	if c.Parallelism < 0 {
		errs = append(errs, errors.New("Parallelism must not be negative"))
	}
	if c.AheadConfirm < 0 {
		errs = append(errs, errors.New("AheadConfirm must not be negative"))
	}
	if c.MemoryBudget < 0 {
		errs = append(errs, errors.New("MemoryBudget must not be negative"))
	}
	for i, s := range c.Schemas {
		if s == nil {
			errs = append(errs, fmt.Errorf("Schemas[%d] is nil", i))
		}
	}
	return errors.Join(errs...)
}

// Pipeline is a declared graph: sources, a chain of operators, sinks, and the
// side outputs for dead letters and late events. Declare it, then Run it once.
type Pipeline struct {
	name       string
	cfg        Config
	sources    []Source
	ops        []Operator
	sinks      []Sink
	deadLetter Sink
	late       Sink
	factory    func(PartitionID) ([]Operator, error)
	declErrs   []error
	started    atomic.Bool
	runner     atomic.Pointer[runner]
	stats      stats
	srcCounts  sourceCounts // Config.CountSources
	latency    decisionLatency
}

// New declares a pipeline.
func New(name string, cfg Config) *Pipeline {
	cfg.setDefaults()
	return &Pipeline{name: name, cfg: cfg}
}

// Name returns the pipeline's name.
func (p *Pipeline) Name() string { return p.name }

// Config returns the pipeline's settings, defaults filled in.
func (p *Pipeline) Config() Config { return p.cfg }

// From adds a source. Each source is read by a goroutine of its own.
func (p *Pipeline) From(src Source) *Pipeline {
	if src == nil {
		p.declErrs = append(p.declErrs, errors.New("From: nil source"))
	}
	p.sources = append(p.sources, src)
	return p
}

// Via appends operators to the chain. All partitions of all sources feed
// this one chain, under the pipeline watermark (the minimum over active
// partitions). For a partitioned log whose partitions come and go (a Kafka
// consumer group), prefer ViaPartitioned: a partition assigned late then
// starts its own watermark instead of arriving behind everyone else's.
func (p *Pipeline) Via(ops ...Operator) *Pipeline {
	for _, op := range ops {
		if op == nil {
			p.declErrs = append(p.declErrs, fmt.Errorf("Via: nil operator at stage %d", len(p.ops)))
		}
		p.ops = append(p.ops, op)
	}
	return p
}

// ViaPartitioned declares the operators as a factory called once per source
// partition: each partition gets its own operators, state, watermark and
// checkpoint, as Kafka Streams gives each partition a task. Use it when keys
// never span partitions (a topic keyed by user); state then follows its
// partition when a consumer group rebalances. It replaces Via.
func (p *Pipeline) ViaPartitioned(factory func(PartitionID) ([]Operator, error)) *Pipeline {
	if factory == nil {
		p.declErrs = append(p.declErrs, errors.New("ViaPartitioned: nil factory"))
	}
	p.factory = factory
	return p
}

// To adds a sink; every sink receives every event the chain emits.
func (p *Pipeline) To(sink Sink) *Pipeline {
	if sink == nil {
		p.declErrs = append(p.declErrs, errors.New("To: nil sink"))
	}
	p.sinks = append(p.sinks, sink)
	return p
}

// DeadLetter sets the sink of malformed records. Each arrives as an event of
// DeadLetterSchema. Without one, rejects are counted and logged only.
func (p *Pipeline) DeadLetter(sink Sink) *Pipeline {
	p.deadLetter = sink
	return p
}

// Late sets the side output of events later than the allowed lateness.
// Without one, late events are counted and dropped.
func (p *Pipeline) Late(sink Sink) *Pipeline {
	p.late = sink
	return p
}

// Validate checks the declaration.
func (p *Pipeline) Validate() error {
	errs := append([]error(nil), p.declErrs...)
	if len(p.sources) == 0 {
		errs = append(errs, errors.New("no source: call From"))
	}
	if err := p.cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if p.factory != nil && len(p.ops) > 0 {
		errs = append(errs, errors.New("use either Via or ViaPartitioned, not both"))
	}
	if p.cfg.Checkpoints != nil && len(p.sources) > 0 {
		errs = append(errs, p.checkpointable()...)
	}
	if len(errs) > 0 {
		return fmt.Errorf("pipeline %s: %w", p.name, errors.Join(errs...))
	}
	return nil
}

// Stats is a snapshot of a pipeline's counters.
type Stats struct {
	EventsIn    int64 // events read from sources
	EventsOut   int64 // events written to the sinks
	DeadLetters int64 // malformed records rejected
	Late        int64 // events later than the allowed lateness
	// Ahead are events that arrived more than MaxAhead beyond their
	// partition's event time, held out of the watermark; Outliers those of
	// them no later event confirmed (see Config.MaxAhead).
	Ahead, Outliers int64
	// Sheds counts the times the memory budget made operators shed state.
	Sheds        int64
	Batches      int64 // batches read
	Watermark    int64 // current pipeline watermark (unix ns)
	MaxEventTime int64 // highest event time seen (unix ns)
	Checkpoints  int64 // checkpoints saved
	// LastCheckpoint is the processing time of the last checkpoint saved.
	LastCheckpoint time.Time
}

type stats struct {
	in, out, dead, late, batches, wm, maxTime, checkpoints, lastCheckpoint atomic.Int64
	ahead, outliers, sheds                                                 atomic.Int64
}

// Stats returns the current counters. Safe to call while running.
func (p *Pipeline) Stats() Stats {
	return Stats{
		EventsIn: p.stats.in.Load(), EventsOut: p.stats.out.Load(), DeadLetters: p.stats.dead.Load(),
		Late: p.stats.late.Load(), Ahead: p.stats.ahead.Load(), Outliers: p.stats.outliers.Load(), Sheds: p.stats.sheds.Load(), Batches: p.stats.batches.Load(), Watermark: p.stats.wm.Load(),
		MaxEventTime: p.stats.maxTime.Load(), Checkpoints: p.stats.checkpoints.Load(),
		LastCheckpoint: unixOrZero(p.stats.lastCheckpoint.Load()),
	}
}

func unixOrZero(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// checkpointable says why the pipeline's checkpoints could not resume it:
// an ordinary pipeline (Via) checkpoints its one chain of operators, which
// only one resumable source may feed; a partitioned one checkpoints each
// partition, which a resumable source must name alike at every run (a
// file, partition -1; a glob's files are numbered as they are found).
func (p *Pipeline) checkpointable() []error {
	var errs []error
	if p.factory == nil {
		if _, ok := p.sources[0].(ResumableSource); !ok || len(p.sources) > 1 {
			errs = append(errs, errors.New("checkpoints need a partitioned pipeline (ViaPartitioned), or one resumable source (a file, a followed glob)"))
		}
		return errs
	}
	for _, s := range p.sources {
		if _, ok := s.(ResumableSource); !ok {
			continue
		}
		if pl, ok := s.(PartitionLister); !ok || !slices.Equal(pl.Partitions(), []int32{-1}) {
			errs = append(errs, fmt.Errorf("source %s: a resumable source of many partitions (a glob) checkpoints in an ordinary pipeline (Via), not ViaPartitioned", s.Name()))
		}
	}
	return errs
}
