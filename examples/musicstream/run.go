package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/examples/adsmodel/model"
	"github.com/rulestream/rulestream/examples/musicstream/analytics"
	"github.com/rulestream/rulestream/examples/musicstream/dashboard"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/examples/musicstream/music"
	"github.com/rulestream/rulestream/internal/runcli"
	"github.com/rulestream/rulestream/internal/sourcewatch"
	"github.com/rulestream/rulestream/job"
	"github.com/rulestream/rulestream/rules"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/checkpoint"
	"github.com/rulestream/rulestream/stream/kafka"
)

// app is one run of the example: its Redis and its scenario.
type app struct {
	o      *options
	out    io.Writer // progress messages (discarded with -quiet)
	stdout io.Writer // the summary
	log    *slog.Logger
	// loadLog is log without its Info records: a load's summary is
	// printed once, by its progress, not also logged.
	loadLog *slog.Logger
	rdb     redis.UniversalClient
	sc      *music.Scenario
	kafka   *kafka.Source        // the Kafka source, when reading Kafka
	sorted  *stream.SortedSource // the input, when sorted by event time first
	watch   *sourcewatch.Watch   // each source judged for silence (nil: off)
	plays   *dashboard.Recorder  // each customer's recent plays (with -http)
	// lateness is -lateness when given, else the job's lateness:.
	lateness time.Duration
	// model is the live ad-response model behind ad_score (nil until Redis
	// is open, and for -produce).
	model *model.Watcher
	// bg holds the goroutines started beside the pipeline (model and rule
	// watchers, invalidator, HTTP): they end and are joined before Redis
	// is closed.
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
	// ad_score reads the model watched once Redis is open; rules are not
	// evaluated before.
	j, err := a.loadJob(func(rec *stream.Record) (float64, bool, error) {
		if a.model == nil {
			return 0, false, nil
		}
		return a.model.ScoreRecord(rec)
	})
	if err != nil {
		return err
	}
	// Followed or read from Kafka (a partition replays in the same order,
	// -once or not), per-event rules decide each play as it arrives
	// (order: auto); a file read once, in event-time order.
	j.Live = (o.kafka != "" || !o.once) && !o.backtest && !o.produce
	a.lateness = j.Lateness
	if o.latenessSet {
		a.lateness = o.lateness
	}

	var plays []byte // generated plays CSV, when no -tracks
	var data *gen.Data
	if o.tracks == "" && (o.kafka == "" || o.produce || o.customers == "") {
		data = gen.Generate(gen.Config{Seed: o.seed, Plays: o.events, Repeats: max(1, o.events/200), NearMisses: max(1, o.events/1000),
			Duplicates: 0.01, MaxDelay: min(a.lateness, 2*time.Minute)})
		var buf bytes.Buffer
		if err := gen.WritePlays(&buf, data.Plays); err != nil {
			return err
		}
		plays = buf.Bytes()
		fmt.Fprintf(a.out, "generated %d plays (%d customers, %d tracks, seed %d)\n", len(data.Plays), len(data.Customers), len(data.Tracks), o.seed)
	}
	if o.produce {
		return a.produce(ctx, plays)
	}

	rdb, closeRedis, err := a.openRedis(ctx)
	if err != nil {
		return err
	}
	defer closeRedis()
	a.rdb = rdb
	// Deferred after closeRedis, so run before it: every goroutine started
	// beside the pipeline ends and is joined while Redis is open.
	bgCtx, stopBG := context.WithCancel(ctx)
	defer a.bg.Wait()
	defer stopBG()
	if err := a.loadReference(ctx, data); err != nil {
		return err
	}
	// The live ad-response model (examples/adsmodel publishes it) behind
	// the rules' ad_score(customer).
	watcher := model.NewWatcher(rdb, model.WatchConfig{Prefix: o.prefix, Notify: true, Logger: a.log})
	if _, err := watcher.Check(ctx); err != nil {
		a.log.Warn("ad-response model not loaded", "error", err)
	}
	a.model = watcher
	a.bg.Go(func() { _ = watcher.Run(bgCtx) })
	set, err := a.loadRules(j)
	if err != nil {
		return err
	}
	mc := music.Config{Prefix: o.prefix, Job: j, Rules: set, Logger: a.log}
	if !o.backtest && o.http != "" { // the dashboard's analytics; a backtest writes nothing
		af, err := analytics.NewFactory(rdb, analytics.Config{Prefix: o.prefix, Logger: a.log})
		if err != nil {
			return err
		}
		// Each customer's recent plays, for the dashboard's customer page.
		rec, err := dashboard.NewRecorder(rdb, dashboard.RecorderConfig{Prefix: o.prefix, Logger: a.log})
		if err != nil {
			return err
		}
		mc.Analytics, a.plays = rec.Tap(af.Operator), rec
	}
	if a.sc, err = music.New(rdb, mc); err != nil {
		return err
	}
	if o.backtest {
		return a.runBacktest(ctx, a.sc.Rules(), plays)
	}
	return a.runPipeline(ctx, plays)
}

func (a *app) openRedis(ctx context.Context) (redis.UniversalClient, func(), error) {
	if a.o.redis != "" {
		rdb, err := enrich.Connect(ctx, a.o.redis, a.log)
		if err != nil {
			return nil, nil, err
		}
		return rdb, func() { a.beforeRedisCloses(); rdb.Close() }, nil
	}
	srv, err := startEmbeddedRedis()
	if err != nil {
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

func (a *app) loadReference(ctx context.Context, data *gen.Data) error {
	cfg := enrich.LoadConfig{Prefix: a.o.prefix, Progress: a.progressWriter(), Logger: a.loadLog}
	named := func(input string) enrich.LoadConfig {
		c := cfg
		c.Input = input
		return c
	}
	report := func(what string, s enrich.Summary, err error) error {
		if err != nil {
			return fmt.Errorf("load %s: %w", what, err)
		}
		if cfg.Progress == nil {
			fmt.Fprintln(a.out, s.String())
		}
		return nil
	}
	switch {
	case a.o.customers != "":
		s, err := music.LoadCustomersFile(ctx, a.rdb, a.o.customers, cfg)
		if err := report(a.o.customers, s, err); err != nil {
			return err
		}
	case data != nil:
		var buf bytes.Buffer
		if err := gen.WriteCustomers(&buf, data.Customers); err != nil {
			return err
		}
		s, err := music.LoadCustomers(ctx, a.rdb, &buf, named("generated customers"))
		if err := report("generated customers", s, err); err != nil {
			return err
		}
	}
	switch {
	case a.o.music != "":
		s, err := music.LoadTracksFile(ctx, a.rdb, a.o.music, cfg)
		return report(a.o.music, s, err)
	case data != nil:
		var buf bytes.Buffer
		if err := gen.WriteMusic(&buf, data.Tracks); err != nil {
			return err
		}
		s, err := music.LoadTracks(ctx, a.rdb, &buf, named("generated music"))
		return report("generated music", s, err)
	}
	return nil
}

func (a *app) progressWriter() io.Writer {
	if a.o.quiet {
		return nil
	}
	return os.Stderr
}

// jobYAML is the music-stream job: input schema, lookups, the repeats
// window, the rules and the targets.
//
//go:embed job.yaml
var jobYAML []byte

// loadJob loads -job (default: the embedded job.yaml) with ad_score.
func (a *app) loadJob(score music.Scorer) (*job.Job, error) {
	if a.o.job == "" {
		return music.ParseJob("job.yaml", jobYAML, score)
	}
	src, err := os.ReadFile(a.o.job)
	if err != nil {
		return nil, err
	}
	return music.ParseJob(a.o.job, src, score)
}

// loadRules loads -rules in the job's environment; nil keeps the job's.
func (a *app) loadRules(j *job.Job) (*rules.RuleSet, error) {
	if a.o.rules == "" {
		return nil, nil
	}
	return j.Env.LoadFile(a.o.rules)
}

func (a *app) pipelineConfig() stream.Config {
	budget, _ := stream.MemoryFlag(a.o.memory) // checked by parseFlags
	return stream.Config{OutOfOrderness: a.lateness, MaxAhead: a.sc.Job().StreamMaxAhead(), Parallelism: a.o.parallelism, ShutdownTimeout: a.o.shutdownTimeout,
		MemoryBudget: budget, Logger: a.log, CountSources: a.watching(), IdleAdvance: a.sc.Job().StreamIdleAdvance()}
}

func (a *app) runBacktest(ctx context.Context, set *rules.RuleSet, plays []byte) error {
	srcs, err := a.fileSources(plays, true)
	if err != nil {
		return err
	}
	if len(srcs) != 1 {
		return fmt.Errorf("-backtest reads one file; -tracks matches %d", len(srcs))
	}
	src := srcs[0]
	up, err := a.sc.Upstream()
	if err != nil {
		return err
	}
	rep, err := rules.Backtest(ctx, set, src, rules.BacktestConfig{Upstream: up, Pipeline: a.pipelineConfig(),
		Engine: rules.EngineConfig{IDField: a.sc.Job().Input.ID}})
	if err != nil {
		return err
	}
	return rep.Format(a.out)
}

// fileSources reads -tracks (a file or a glob, followed unless -once; or
// stdin), or the generated plays. A followed glob is one source whose
// files are its partitions (one collector per host), joined by the files
// that appear; read once, it is a source per file.
func (a *app) fileSources(plays []byte, once bool) ([]stream.Source, error) {
	if a.o.tracks == "" {
		dec, err := a.sc.Job().Decoder()
		if err != nil {
			return nil, err
		}
		return []stream.Source{stream.NewReaderSource("generated", bytes.NewReader(plays), dec, stream.FileConfig{})}, nil
	}
	if a.o.tracks != "-" && !job.IsGlob(a.o.tracks) {
		if _, err := os.Stat(a.o.tracks); err != nil {
			return nil, err
		}
	}
	return a.sc.Job().FileSources(a.o.tracks, !once, a.o.files, a.log)
}

// followsFile says whether -tracks names a file or a glob to follow
// (checkpointed), rather than stdin, the generated plays or a -once run.
func (a *app) followsFile() bool {
	return !a.o.once && a.o.tracks != "" && a.o.tracks != "-"
}

// watching says whether each source is judged for silence: while
// following -tracks or reading Kafka, with -silence above 0.
func (a *app) watching() bool {
	return !a.o.once && !a.o.backtest && !a.o.produce && a.o.watch.Enabled()
}

func (a *app) runPipeline(ctx context.Context, plays []byte) error {
	cfg := a.pipelineConfig()
	p := stream.New("musicstream", cfg)
	var srcs []stream.Source
	if a.o.kafka != "" {
		cfg.Checkpoints = checkpoint.NewRedis(a.rdb, a.o.prefix+"checkpoint:")
		cfg.CheckpointInterval = a.o.checkpointEvery
		p = stream.New("musicstream", cfg)
		ks, err := a.kafkaSource(p)
		if err != nil {
			return err
		}
		srcs, a.kafka = []stream.Source{ks}, ks
	} else {
		var err error
		if srcs, err = a.fileSources(plays, a.o.once); err != nil {
			return err
		}
		if a.followsFile() {
			// A followed file or glob resumes where it stopped: its offset
			// (each file's) is checkpointed with the state, as a Kafka
			// partition's is.
			cfg.Checkpoints = checkpoint.NewRedis(a.rdb, a.o.prefix+"checkpoint:")
			cfg.CheckpointInterval = a.o.checkpointEvery
			p = stream.New("musicstream", cfg)
		}
		if a.o.once {
			j := a.sc.Job()
			on, err := j.SortMode(a.o.sort, a.lateness)
			if err != nil {
				return err
			}
			if on {
				a.log.Info("sorting the input by event time first", "lateness", a.lateness)
				budget, _ := stream.MemoryFlag(a.o.memory)
				if budget = budget / 4; budget >= 256<<20 {
					budget = 0 // the sort's default
				}
				if a.sorted, err = j.SortInput(srcs, a.lateness, budget, ""); err != nil {
					return err
				}
				srcs = []stream.Source{a.sorted}
				p = stream.New("musicstream", job.SortedPipeline(cfg))
			}
		}
	}
	router, err := a.sc.Targets()
	if err != nil {
		return err
	}
	for _, s := range srcs {
		p.From(s)
	}
	if _, glob := srcs[0].(*stream.GlobSource); len(srcs) == 1 && !glob {
		p.ViaPartitioned(a.sc.Operators) // one partition (or each Kafka partition), split across lanes
	} else {
		// The files of a glob feed one chain: a customer's plays may be in
		// any of them (the watermark is the minimum over the files not
		// idle).
		ops, err := a.sc.Operators(stream.PartitionID{Partition: -1})
		if err != nil {
			return err
		}
		p.Via(ops...)
	}
	p.To(router).DeadLetter(stream.SinkFunc(router.Write))
	if late := a.sc.Late(func() int64 { return p.Stats().Watermark }); late != nil {
		p.Late(late)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel() // after the HTTP server stops; run joins a.bg
	a.invalidate(runCtx)
	if a.o.rules != "" {
		if err := a.watchRules(runCtx); err != nil {
			return err
		}
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
		stopHTTP, err := a.serveHTTP(runCtx, p, router)
		if err != nil {
			return err
		}
		defer stopHTTP()
	}
	if a.o.onPipeline != nil {
		a.o.onPipeline(p)
	}
	stopProgress := a.startProgress(p)
	start := time.Now()
	err = p.Run(runCtx)
	elapsed := time.Since(start)
	stopProgress()
	end := runcli.End(ctx, err, a.o.once, a.o.shutdownTimeout, a.sc.Built().Targets)
	a.summary(p, elapsed, end)
	return end.Err
}

// invalidate starts dropping cached customers and tracks as soon as they
// change in Redis, through keyspace notifications; -set-notifications
// turns them on when they are off. The embedded server sends none.
func (a *app) invalidate(ctx context.Context) {
	if a.o.redis == "" {
		a.log.Info("embedded Redis: no keyspace notifications, changed customers and tracks are seen after the cache TTL (5m)")
		return
	}
	iv := a.sc.Invalidator(enrich.InvalidatorConfig{EnableNotifications: a.o.setNotifications, Logger: a.log})
	a.bg.Go(func() {
		err := iv.Run(ctx)
		switch {
		case err == nil || ctx.Err() != nil:
		case !a.o.setNotifications:
			a.log.Warn("cache invalidation off (-set-notifications=false: the server's config is left alone): changed customers and tracks are seen after the cache TTL (5m)", "error", err)
		default:
			a.log.Warn("no cache invalidation: changed customers and tracks are seen after the cache TTL (5m)", "error", err)
		}
	})
}

// watchRules hot-reloads -rules through the job: the file is compiled in
// the job's environment, made the rules of a copy of the job, and
// Built.Reload checks that the running job's operators and targets serve
// it (a rule needing a window that was not built, or a cooldown without the
// event-time order, needs a restart) before swapping it into every
// partition's engine. A refused file leaves the previous set live.
func (a *app) watchRules(ctx context.Context) error {
	fw, err := rules.NewFileWatcher(a.sc.Master(), a.o.rules, rules.WatchConfig{
		Logger: a.log,
		Load: func(path string, data []byte) error {
			set, err := a.sc.Job().Env.Load(path, data)
			if err != nil {
				return err
			}
			next, err := a.sc.Job().WithRules(set)
			if err != nil {
				return err
			}
			return a.sc.Built().Reload(next)
		},
		OnReload: func(version string, err error) {
			switch {
			case errors.Is(err, job.ErrRestartNeeded):
				a.log.Warn("rules changed: restart to apply; the previous set stays live", "file", a.o.rules, "live", version, "why", err)
			case err != nil:
				a.log.Error("rules rejected; the previous set stays live", "file", a.o.rules, "live", version, "error", err)
			default:
				a.log.Info("rules live", "file", a.o.rules, "version", version)
			}
			if a.o.onReload != nil {
				a.o.onReload(version, err)
			}
		},
	})
	if err != nil {
		return err
	}
	a.bg.Go(func() {
		if err := fw.Run(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("rule watcher stopped", "error", err)
		}
	})
	return nil
}

// kafkaJob returns a copy of the job reading the flags' Kafka topic (-kafka,
// -topic, -group, -offset) instead of its input.
func (a *app) kafkaJob() *job.Job {
	kj := *a.sc.Job()
	kj.Input.Path = ""
	kj.Input.Kafka = &job.Kafka{Brokers: strings.Split(a.o.kafka, ","), Topic: a.o.topic, Group: a.o.group, Offset: a.o.offset}
	return &kj
}

// kafkaSource reads the topic as a member of the group (the job's Kafka
// source). Its partition assignments go to the pipeline, so that each
// partition's state is restored from its checkpoint before it is read and
// checkpointed when it is revoked.
func (a *app) kafkaSource(p *stream.Pipeline) (*kafka.Source, error) {
	return a.kafkaJob().KafkaSource(p, job.KafkaConfig{StopAtEnd: a.o.once, SessionTimeout: a.o.sessionTimeout, Logger: a.log})
}

func (a *app) produce(ctx context.Context, plays []byte) error {
	if a.o.kafka == "" {
		return errors.New("-produce needs -kafka")
	}
	var r io.Reader = bytes.NewReader(plays)
	if a.o.tracks == "-" {
		r = os.Stdin
	} else if job.IsGlob(a.o.tracks) {
		return fmt.Errorf("-produce reads one file, not the glob %s", a.o.tracks)
	} else if a.o.tracks != "" {
		f, err := os.Open(a.o.tracks)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	if err := ensureTopic(strings.Split(a.o.kafka, ","), a.o.topic, int32(a.o.partitions)); err != nil {
		return err
	}
	start := time.Now()
	n, err := kafka.ProduceLines(ctx, strings.Split(a.o.kafka, ","), a.o.topic, r, kafka.ProducerConfig{Key: kafka.CSVColumn(1), Logger: a.log})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.out, "produced %d plays to %s in %.2fs\n", n, a.o.topic, time.Since(start).Seconds())
	return nil
}

// ensureTopic creates topic with the given partitions when it does not exist.
func ensureTopic(brokers []string, topic string, partitions int32) error {
	admin, err := sarama.NewClusterAdmin(brokers, sarama.NewConfig())
	if err != nil {
		return fmt.Errorf("kafka admin: %w", err)
	}
	defer admin.Close()
	topics, err := admin.ListTopics()
	if err != nil {
		return fmt.Errorf("kafka admin: %w", err)
	}
	if _, ok := topics[topic]; ok {
		return nil
	}
	err = admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false)
	if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	return nil
}
