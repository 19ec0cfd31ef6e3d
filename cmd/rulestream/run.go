package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"golang.org/x/term"

	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/internal/runcli"
	"github.com/rulestream/rulestream/internal/sourcewatch"
	"github.com/rulestream/rulestream/job"
	"github.com/rulestream/rulestream/rules"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/checkpoint"
	"github.com/rulestream/rulestream/stream/kafka"
	"github.com/rulestream/rulestream/targets"
)

// app is one run of a job.
type app struct {
	o      *options
	out    io.Writer // progress messages (discarded with -quiet)
	stdout io.Writer // the summary
	log    *slog.Logger
	// loadLog is log without its Info records: a load's summary is
	// printed once, on out, not also logged.
	loadLog *slog.Logger
	job     *job.Job
	rdb     redis.UniversalClient
	built   *job.Built
	kafka   *kafka.Source
	sorted  *stream.SortedSource // the input, when sorted by event time first
	watch   *sourcewatch.Watch   // each source judged for silence (nil: off)
	// bg holds the goroutines started beside the pipeline (job watcher,
	// invalidator, HTTP): runPipeline stops and joins them before it
	// returns, so before Redis is closed.
	bg sync.WaitGroup
}

func run(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	level := slog.LevelInfo
	if o.quiet {
		level = slog.LevelError
	}
	a := &app{o: o, out: stdout, stdout: stdout, log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		loadLog: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: max(level, slog.LevelWarn)}))}
	if o.quiet {
		a.out = io.Discard
	}
	if o.schema {
		_, err := stdout.Write(job.JSONSchema())
		return err
	}
	j, err := job.Load(o.job, job.Options{})
	if err != nil {
		return err
	}
	// Following files or reading Kafka (a partition replays in the same
	// order, -once or not), per-event rules decide each event as it arrives
	// (order: auto); a file read once, in event-time order.
	j.Live = (j.Input.Kafka != nil && o.input == "" || !o.once) && !o.backtest
	a.job = j
	if o.print {
		return j.Print(stdout)
	}
	rdb, closeRedis, err := a.openRedis(ctx)
	if err != nil {
		return err
	}
	defer closeRedis()
	a.rdb = rdb
	if a.built, err = j.Build(job.BuildConfig{Redis: rdb, Prefix: o.prefix, Explain: o.explain, Logger: a.log,
		Targets: targets.Config{Batch: o.targetBatch}}); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "job %s: %s\n", j.Name, a.built.Plan())
	for _, u := range a.built.Plan().Unused {
		a.log.Info("not built", "what", u)
	}
	if o.backtest {
		return a.runBacktest(ctx)
	}
	// The input is resolved before anything is written to Redis: a missing
	// file fails the run before the reference data is loaded.
	var srcs []stream.Source
	if j.Input.Kafka == nil || o.input != "" {
		if srcs, err = j.FileSources(o.input, !o.once, o.files, a.log); err != nil {
			return err
		}
	}
	if err := a.loadReference(ctx); err != nil {
		return err
	}
	return a.runPipeline(ctx, srcs)
}

func (a *app) openRedis(ctx context.Context) (redis.UniversalClient, func(), error) {
	if a.o.redis != "" {
		rdb, err := enrich.Connect(ctx, a.o.redis, a.log)
		if err != nil {
			return nil, nil, err
		}
		return rdb, func() { a.beforeRedisCloses(); rdb.Close() }, nil
	}
	srv := miniredis.NewMiniRedis()
	if err := srv.StartAddr("127.0.0.1:0"); err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(a.out, "embedded Redis on %s (redis-cli -h %s -p %s)\n", srv.Addr(), srv.Host(), srv.Port())
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	return rdb, func() { a.beforeRedisCloses(); rdb.Close(); srv.Close() }, nil
}

func (a *app) beforeRedisCloses() {
	if a.o.onRedisClose != nil {
		a.o.onRedisClose()
	}
}

func (a *app) loadReference(ctx context.Context) error {
	sums, err := a.job.LoadReference(ctx, a.rdb, enrich.LoadConfig{Prefix: a.o.prefix, Logger: a.loadLog})
	for _, s := range sums {
		fmt.Fprintln(a.out, s.String())
	}
	return err
}

func (a *app) pipelineConfig() stream.Config {
	lanes := a.o.parallelism
	if ok, why := a.job.Lanes(); !ok && lanes > 1 {
		a.log.Info("one lane per partition", "why", why)
		lanes = 1
	}
	budget, _ := stream.MemoryFlag(a.o.memory) // checked by parseFlags
	return stream.Config{OutOfOrderness: a.job.Lateness, MaxAhead: a.job.StreamMaxAhead(), Parallelism: lanes, ShutdownTimeout: a.o.shutdownTimeout,
		MemoryBudget: budget, Logger: a.log, CountSources: a.watching(), IdleAdvance: a.job.StreamIdleAdvance()}
}

// watching says whether each source is judged for silence: while
// following files or reading Kafka, with -silence above 0.
func (a *app) watching() bool { return !a.o.once && !a.o.backtest && a.o.watch.Enabled() }

func (a *app) runBacktest(ctx context.Context) error {
	if a.job.Input.Kafka != nil && a.o.input == "" {
		return errors.New("-backtest reads a file: give -input")
	}
	srcs, err := a.job.FileSources(a.o.input, false, stream.FileConfig{}, nil)
	if err != nil {
		return err
	}
	if len(srcs) != 1 {
		return fmt.Errorf("-backtest reads one file; the input matches %d", len(srcs))
	}
	// The embedded server starts empty: the job's reference data goes into
	// it, so that the lookups find what a run's would. A Redis given by
	// -redis is only read: a backtest writes nothing there.
	if a.o.redis == "" {
		if err := a.loadReference(ctx); err != nil {
			return err
		}
	}
	up, err := a.built.Upstream()
	if err != nil {
		return err
	}
	rep, err := rules.Backtest(ctx, a.built.Master().Live(), srcs[0], rules.BacktestConfig{Upstream: up, Pipeline: a.pipelineConfig(),
		Engine: rules.EngineConfig{IDField: a.job.Input.ID}})
	if err != nil {
		return err
	}
	return rep.Format(a.stdout)
}

// runPipeline runs the job on srcs, or on its Kafka input when srcs is
// empty.
func (a *app) runPipeline(ctx context.Context, srcs []stream.Source) error {
	cfg := a.pipelineConfig()
	kafkaIn := a.job.Input.Kafka != nil && a.o.input == ""
	// A followed file or glob resumes where it stopped, as a Kafka
	// partition does: its offset (each file's) is checkpointed with the
	// state.
	path := a.o.input
	if path == "" {
		path = a.job.Input.Path
	}
	followed := !kafkaIn && !a.o.once && path != "-"
	if kafkaIn || followed {
		cfg.Checkpoints = checkpoint.NewRedis(a.rdb, a.o.prefix+"checkpoint:"+a.job.Name+"/")
		cfg.CheckpointInterval = a.o.checkpointEvery
	}
	p := stream.New(a.job.Name, cfg)
	if kafkaIn {
		src, err := a.job.KafkaSource(p, job.KafkaConfig{StopAtEnd: a.o.once, SessionTimeout: a.o.sessionTimeout, Logger: a.log})
		if err != nil {
			return err
		}
		a.kafka = src
		p.From(src)
		if ok, why := a.job.Lanes(); !ok {
			a.log.Warn("each Kafka partition keeps its own state: results match a single-partition run only if the topic is keyed so that every window key lives in one partition", "why", why)
		}
		p.ViaPartitioned(a.built.Operators)
	} else {
		if sorted, err := a.sortInput(srcs); err != nil {
			return err
		} else if sorted != nil {
			srcs, a.sorted = []stream.Source{sorted}, sorted
			p = stream.New(a.job.Name, job.SortedPipeline(cfg))
		}
		for _, s := range srcs {
			p.From(s)
		}
		if _, glob := srcs[0].(*stream.GlobSource); len(srcs) == 1 && !glob {
			p.ViaPartitioned(a.built.Operators) // one partition, split across lanes
		} else {
			// The files of a glob feed one chain: a key's events may be in
			// any of them (the watermark is the minimum over the files
			// not idle).
			ops, err := a.built.Operators(stream.PartitionID{Partition: -1})
			if err != nil {
				return err
			}
			p.Via(ops...)
		}
	}
	router := a.built.Router()
	p.To(router)
	if a.built.HasDeadLetter() {
		p.DeadLetter(stream.SinkFunc(router.Write))
	}
	if late := a.built.LateSink(func() int64 { return p.Stats().Watermark }); late != nil {
		p.Late(late)
	}

	runCtx, cancel := context.WithCancel(ctx)
	// Deferred first, run last: the goroutines below (and serveHTTP's)
	// end and are joined after the HTTP server stops, before Redis closes.
	defer a.bg.Wait()
	defer cancel()
	// Reference data changed in Redis reaches the caches at once. The
	// embedded server sends no keyspace notifications.
	if a.o.redis == "" {
		a.log.Info("embedded Redis: no keyspace notifications, cached records are refreshed after the cache TTL")
	} else {
		iv := a.built.Invalidator(enrich.InvalidatorConfig{Logger: a.log})
		a.bg.Go(func() {
			if err := iv.Run(runCtx); err != nil && runCtx.Err() == nil {
				a.log.Info("no cache invalidation: changed records are seen after the cache TTL", "error", err)
			}
		})
	}
	if err := a.watchJob(runCtx); err != nil {
		return err
	}
	if !a.watching() && a.o.watch.Webhook != "" {
		a.log.Warn("-alert-webhook is not used: the sources of a -once run are not watched for silence")
	}
	if a.watching() {
		w, err := sourcewatch.Start(runCtx, &a.bg, p, a.rdb, a.o.prefix, a.o.watch, a.log)
		if err != nil {
			return err
		}
		a.watch = w
	}
	if a.o.http != "" {
		stop, err := a.serveHTTP(runCtx, p)
		if err != nil {
			return err
		}
		defer stop()
	}
	if a.o.onPipeline != nil {
		a.o.onPipeline(p)
	}
	stopProgress := a.startProgress(p)
	start := time.Now()
	err := p.Run(runCtx)
	elapsed := time.Since(start)
	stopProgress()
	end := runcli.End(ctx, err, a.o.once, a.o.shutdownTimeout, a.built.Targets)
	a.summary(p, elapsed, end)
	return end.Err
}

// sortInput returns the bounded input sorted by event time when -sort
// says so (with -once, not on Kafka), else nil.
func (a *app) sortInput(srcs []stream.Source) (*stream.SortedSource, error) {
	if !a.o.once || len(srcs) == 0 {
		return nil, nil
	}
	on, err := a.job.SortMode(a.o.sort, a.job.Lateness)
	if err != nil || !on {
		return nil, err
	}
	a.log.Info("sorting the input by event time first", "lateness", a.job.Lateness)
	return a.job.SortInput(srcs, a.job.Lateness, sortBudget(a.o.memory), "")
}

// sortBudget is the memory a sort holds before spilling: its default
// (256 MiB), or a quarter of the memory budget when that is less.
func sortBudget(memory string) int64 {
	budget, _ := stream.MemoryFlag(memory)
	if budget > 0 && budget/4 < 256<<20 {
		return budget / 4
	}
	return 0
}

// watchJob reloads the job file's rules when it changes. A change beyond
// the rules (input, lookups, windows, targets, or what the rules need
// built) is logged as needing a restart, and the running job goes on.
func (a *app) watchJob(ctx context.Context) error {
	fw, err := rules.NewFileWatcher(a.built.Master(), a.o.job, rules.WatchConfig{
		Logger: a.log,
		Load: func(path string, data []byte) error {
			next, err := job.Parse(path, data, job.Options{})
			if err != nil {
				return err
			}
			return a.built.Reload(next)
		},
		OnReload: func(version string, err error) {
			switch {
			case errors.Is(err, job.ErrRestartNeeded):
				a.log.Warn("job changed: restart to apply; the running job goes on", "file", a.o.job, "live", version, "why", err)
			case err != nil:
				a.log.Error("job rejected; the running job goes on", "file", a.o.job, "live", version, "error", err)
			}
			if a.o.onReload != nil {
				a.o.onReload(err)
			}
		},
	})
	if err != nil {
		return err
	}
	a.bg.Go(func() {
		if err := fw.Run(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("job watcher stopped", "error", err)
		}
	})
	return nil
}

func formatWatermark(wm int64) string {
	switch wm {
	case stream.MinWatermark:
		return "-"
	case stream.MaxWatermark:
		return "end"
	}
	return time.Unix(0, wm).UTC().Format("2006-01-02 15:04:05")
}

// startProgress prints a progress line on stderr every second when stderr
// is a terminal (or -progress on).
func (a *app) startProgress(p *stream.Pipeline) func() {
	on := a.o.progress == "on" || (a.o.progress == "auto" && term.IsTerminal(int(os.Stderr.Fd())))
	if !on || a.o.quiet {
		return func() {}
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-done:
				fmt.Fprintln(os.Stderr)
				return
			case <-t.C:
				st := p.Stats()
				fmt.Fprintf(os.Stderr, "\r%9d events/s  in %d  watermark %s  %s\x1b[K",
					st.EventsIn-last, st.EventsIn, formatWatermark(st.Watermark), job.FormatCounts(a.built.Counters().Firings))
				last = st.EventsIn
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// summary prints the final counts on stdout: first how the run ended when
// a signal stopped it, then what was read, fired, written and not written.
func (a *app) summary(p *stream.Pipeline, elapsed time.Duration, end runcli.Ending) {
	st := p.Stats()
	c := a.built.Counters()
	out := a.stdout
	end.WriteHeadline(out, a.o.once)
	fmt.Fprintf(out, "events: %d in, %d duplicates dropped, %d dead-lettered, %d late\n", st.EventsIn, c.Duplicates, st.DeadLetters, st.Late)
	for _, name := range a.built.Plan().Windows {
		w := c.Windows[name]
		fmt.Fprintf(out, "window %s: %d results, %d evictions\n", name, w.Results, w.Evictions)
	}
	fmt.Fprintf(out, "rules: %s\n", job.FormatCounts(c.Firings))
	if errs := errorCounts(c); len(errs) > 0 {
		fmt.Fprintf(out, "errors: %s\n", job.FormatCounts(errs))
	}
	written, pending := map[string]int64{}, map[string]int64{}
	for name, t := range a.built.Targets() {
		written[name] = t.Written
		if t.Pending > 0 {
			pending[name] = int64(t.Pending)
		}
	}
	fmt.Fprintf(out, "written: %s\n", job.FormatCounts(written))
	if len(pending) > 0 {
		fmt.Fprintf(out, "pending: %s (not written: not acknowledged by Redis)\n", job.FormatCounts(pending))
	}
	end.WriteDropped(out)
	if a.sorted != nil {
		ss := a.sorted.Stats()
		fmt.Fprintf(out, "sorted: %d events by event time, %.1f MiB held, %d runs spilled\n", ss.Events, float64(ss.PeakBytes)/(1<<20), ss.Runs)
	}
	budget, _ := stream.MemoryFlag(a.o.memory)
	fmt.Fprintln(out, stream.MemoryLine(st, budget))
	if st.Ahead > 0 {
		fmt.Fprintf(out, "ahead: %d events far ahead of their input's event time, held out of the watermark (%d of them outliers)\n", st.Ahead, st.Outliers)
	}
	fmt.Fprintf(out, "watermark: %s, %d checkpoints\n", formatWatermark(st.Watermark), st.Checkpoints)
	fmt.Fprintf(out, "time: %.2fs (%.0f events/s)\n", elapsed.Seconds(), float64(st.EventsIn)/max(elapsed.Seconds(), 1e-9))
}

// errorCounts are the runtime errors of the rules that had any, by rule,
// and of the windows whose where: or pattern conditions failed, as
// window:<name>.
func errorCounts(c job.Counters) map[string]int64 {
	errs := map[string]int64{}
	for name, n := range c.RuleErrors {
		if n > 0 {
			errs[name] = n
		}
	}
	for name, w := range c.Windows {
		if w.Errors > 0 {
			errs["window:"+name] = w.Errors
		}
	}
	return errs
}
