package analytics

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// Analytics is the operator: a branch that consumes enriched plays, emits
// nothing and writes its windows' results to Redis. Build one per partition.
type Analytics struct {
	cfg     Config
	pid     stream.PartitionID
	factory *Factory // numbers the lanes; nil from New
	w       *writer  // its part names the partials written
	proj    projector
	windows []*window.TimeWindows
	ems     []stream.Emitter
	stats   counters
}

type counters struct {
	plays, results, keys, writeErrors, dropped, pending, writeNanos atomic.Int64
	lastErr                                                         atomic.Pointer[string]
}

// Stats are the operator's counters.
type Stats struct {
	Plays       int64  // plays consumed
	Results     int64  // window results (updates included)
	Keys        int64  // keys written (partials), over all writes
	WriteErrors int64  // failed writes (retried)
	Dropped     int64  // results dropped because MaxPending keys were waiting
	Pending     int64  // keys waiting for a retry now
	LastError   string // the last write error, "" after a successful write
	// WriteTime is the time spent writing to Redis (processing time, on
	// the pipeline's processing goroutine).
	WriteTime time.Duration
}

// The windows, in the order of New's windows slice. The names are the
// results' WindowInfo.Name.
const (
	wHour = "plays_hour" // every breakdown of an hour
	wDay  = "plays_day"  // zip codes of a day
)

var windowNames = [...]string{wHour, wDay}

// PartitionName is the name a partition's partials are written under:
// "<source>.<partition>", e.g. "0.3", or "0.-1" for an unpartitioned source.
func PartitionName(p stream.PartitionID) string {
	return strconv.Itoa(p.Source) + "." + strconv.Itoa(int(p.Partition))
}

// New returns the analytics operator of partition part, writing to rdb.
// Use it as a branch of stream.Parallel after the customer lookup.
func New(rdb redis.UniversalClient, part stream.PartitionID, cfg Config) (*Analytics, error) {
	if rdb == nil {
		return nil, fmt.Errorf("analytics: nil redis client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	a := &Analytics{cfg: cfg, pid: part}
	a.w = newWriter(rdb, cfg, PartitionName(part))
	count := func(field string) window.Aggregate { return window.Custom[countAcc](field, field, countsAgg{}) }
	few := func(field string) window.Aggregate { return window.Custom[fewCounts](field, field, fewAgg{}) }
	specs := []struct {
		name string
		size time.Duration
		aggs []window.Aggregate
	}{
		{wHour, time.Hour, []window.Aggregate{window.Sum("mobile", "mobile"), window.DistinctCount("listeners", "customer_id"),
			count("zip"), count("track_id"), few("level"), few("gender"), few("age_band")}},
		{wDay, 24 * time.Hour, []window.Aggregate{count("zip")}},
	}
	for _, s := range specs {
		w, err := window.NewTumbling(window.TumblingConfig{Size: s.size, WindowConfig: window.WindowConfig{
			Name: s.name, KeyBy: []string{"all"}, Aggs: s.aggs, AllowedLateness: cfg.AllowedLateness}})
		if err != nil {
			return nil, fmt.Errorf("analytics: window %s: %w", s.name, err)
		}
		a.windows = append(a.windows, w)
	}
	a.ems = make([]stream.Emitter, len(a.windows))
	return a, nil
}

// Start passes the pipeline's settings to the windows and picks up the
// pipeline's clock and logger unless configured. With several lanes
// (stream.Config.Parallelism) the operator must come from a Factory, which
// gives it its lane's partial keys.
func (a *Analytics) Start(ctx context.Context, env stream.Env) error {
	if lanes := env.Config.Parallelism; lanes > 1 {
		if a.factory == nil {
			return fmt.Errorf("analytics: the pipeline runs %d lanes per partition: build the operators with a Factory (NewFactory), so that each lane writes partials of its own", lanes)
		}
		a.w.part = LaneName(a.pid, a.factory.lane(a.pid, lanes))
	}
	if a.cfg.Clock == nil {
		a.cfg.Clock = env.Clock
	}
	if a.cfg.Logger == nil {
		a.cfg.Logger = env.Logger
	}
	a.w.clock, a.w.log = a.cfg.Clock, a.cfg.Logger
	// The windows see the projected plays, not the pipeline's events.
	env.Schema, env.Schemas = Schema, []*stream.Schema{Schema}
	for _, w := range a.windows {
		if err := w.Start(ctx, env); err != nil {
			return err
		}
	}
	return nil
}

// Process feeds a batch of enriched plays to the windows and writes what
// fired. It emits nothing.
func (a *Analytics) Process(ctx context.Context, in []stream.Event, _ *stream.Emitter) error {
	evs := a.proj.project(in)
	a.stats.plays.Add(int64(len(evs)))
	if len(evs) == 0 {
		return nil
	}
	return a.run(ctx, func(_ int, w *window.TimeWindows, em *stream.Emitter) error { return w.Process(ctx, evs, em) })
}

// Advance moves the windows to the watermark and writes what fired.
func (a *Analytics) Advance(ctx context.Context, wm int64, _ *stream.Emitter) error {
	return a.run(ctx, func(_ int, w *window.TimeWindows, em *stream.Emitter) error { return w.Advance(ctx, wm, em) })
}

func (a *Analytics) run(ctx context.Context, fn func(int, *window.TimeWindows, *stream.Emitter) error) error {
	n := 0
	for i, w := range a.windows {
		em := &a.ems[i]
		em.Reset()
		if err := fn(i, w, em); err != nil {
			return fmt.Errorf("analytics: window %s: %w", a.windowName(i), err)
		}
		for _, r := range em.Events() {
			if r.Window != nil {
				if err := a.add(r.Window); err != nil {
					return fmt.Errorf("analytics: window %s: %w", a.windowName(i), err)
				}
				n++
			}
		}
	}
	a.stats.results.Add(int64(n))
	a.flushIfDue(ctx, n > 0)
	return nil
}

func (a *Analytics) windowName(i int) string {
	return windowNames[i]
}

// Flush writes the pending results now, whatever the retry delay, and
// returns the write error, if any (the results stay pending).
func (a *Analytics) Flush(ctx context.Context) error {
	return a.flush(ctx)
}

func (a *Analytics) flushIfDue(ctx context.Context, fresh bool) {
	if a.w.empty() {
		return
	}
	if !fresh && !a.w.retryDue() {
		return
	}
	_ = a.flush(ctx)
}

func (a *Analytics) flush(ctx context.Context) error {
	start := time.Now()
	keys, err := a.w.flush(ctx)
	a.stats.writeNanos.Add(int64(time.Since(start)))
	a.stats.pending.Store(int64(a.w.len()))
	if err != nil {
		a.stats.writeErrors.Add(1)
		msg := err.Error()
		a.stats.lastErr.Store(&msg)
		a.logger().Warn("analytics: write failed; will retry", "partition", a.w.part, "pending", a.w.len(), "error", err)
		return err
	}
	a.stats.keys.Add(int64(keys))
	a.stats.lastErr.Store(nil)
	return nil
}

func (a *Analytics) logger() *slog.Logger {
	if a.cfg.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.cfg.Logger
}

// Stats returns the counters. Safe to call from any goroutine.
func (a *Analytics) Stats() Stats {
	s := Stats{Plays: a.stats.plays.Load(), Results: a.stats.results.Load(), Keys: a.stats.keys.Load(),
		WriteErrors: a.stats.writeErrors.Load(), Dropped: a.stats.dropped.Load(), Pending: a.stats.pending.Load(),
		WriteTime: time.Duration(a.stats.writeNanos.Load())}
	if p := a.stats.lastErr.Load(); p != nil {
		s.LastError = *p
	}
	return s
}
