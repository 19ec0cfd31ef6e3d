// Command musicstream runs the whole music-streaming scenario: plays (from a
// CSV file, stdin, Kafka, or generated) are deduplicated by event_id,
// enriched with the customer and the track from Redis, fed to a count-within
// window (3 plays of one track within 30 minutes) and to an event-time order,
// and evaluated by CEL rules whose emissions land in Redis queues:
// interest:<customer_id>, queue:interest, queue:ads, queue:sms and
// queue:deadletter.
//
//	go run ./examples/musicstream -once
//
// It is the template to copy: see README.md beside it.
//
//go:generate go run ./data/generate.go data
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/rulestream/rulestream/internal/runcli"
	"github.com/rulestream/rulestream/internal/sourcewatch"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/metrics"
)

// options are the command line.
type options struct {
	tracks, customers, music string
	redis                    string
	kafka, topic, group      string
	offset                   string
	produce                  bool
	partitions               int
	rules                    string
	job                      string
	lateness                 time.Duration
	latenessSet              bool // -lateness was given: it overrides the job's
	once, backtest           bool
	http                     string
	events                   int
	seed                     uint64
	checkpointEvery          time.Duration
	sessionTimeout           time.Duration
	shutdownTimeout          time.Duration
	setNotifications         bool
	prefix                   string
	progress                 string
	quiet                    bool
	cpuprofile               string
	sort                     string
	memory                   string
	parallelism              int
	watch                    sourcewatch.Options

	// onReload, when set (tests only; no flag sets it), is called after
	// each attempt to reload -rules, with the live version and the
	// attempt's outcome: nil when the rules were swapped in or unchanged,
	// an error wrapping job.ErrRestartNeeded, or the file's error. It runs
	// on the watcher's goroutine, after the outcome was logged; the first
	// call is the watcher's initial load.
	onReload func(version string, err error)
	// onRedisClose, when set (tests only), is called just before the Redis
	// client (and the embedded server) is closed.
	onRedisClose func()
	// onPipeline, when set (tests only), is called with the pipeline
	// before it runs.
	onPipeline func(*stream.Pipeline)
	// files, when set (tests only), configures the -tracks file sources
	// (a poll interval).
	files stream.FileConfig
	// probe, when set (tests only: a clock, a hook), configures the PING
	// behind /healthz's redis check; Every defaults to 1s.
	probe metrics.ProbeConfig
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("musicstream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.tracks, "tracks", "", "plays CSV in the demo's positional schema (no header): a file, a glob (quoted, e.g. 'logs/*.csv': followed, each file is a source of its own, one collector per host, and files that appear join), or - for stdin. Default: a generated data set")
	fs.StringVar(&o.customers, "customers", "", "customer CSV (cust.csv schema), loaded into Redis before processing")
	fs.StringVar(&o.music, "music", "", "music CSV (music.csv schema), loaded into Redis before processing")
	fs.StringVar(&o.redis, "redis", "", "Redis address (host:port or redis:// / rediss:// URL; several, comma-separated, for a Redis Cluster: host:port,host:port,...). Default: an embedded Redis-protocol server")
	fs.StringVar(&o.kafka, "kafka", "", "Kafka bootstrap brokers (comma-separated): read plays from Kafka instead of a file")
	fs.StringVar(&o.topic, "topic", "plays", "Kafka topic")
	fs.StringVar(&o.group, "group", "musicstream", "Kafka consumer group")
	fs.StringVar(&o.offset, "offset", "oldest", "where a group without committed offsets starts: oldest or newest")
	fs.BoolVar(&o.produce, "produce", false, "publish -tracks (or the generated plays) to -topic, keyed by customer_id, then exit")
	fs.IntVar(&o.partitions, "partitions", 6, "partitions of the topic -produce creates when it does not exist")
	fs.StringVar(&o.job, "job", "", "the job file (default: the built-in job.yaml); the flags above override its input")
	fs.StringVar(&o.rules, "rules", "", "rule YAML file (hot-reloaded). Default: the built-in rules interest, upgrade_ad, sms_offer")
	fs.DurationVar(&o.lateness, "lateness", 5*time.Minute, "allowed lateness: how far behind the newest event time an event may arrive and still count; when not given, the job's lateness: applies (5m in the built-in job.yaml)")
	fs.BoolVar(&o.once, "once", false, "process the input to its end, flush, exit 0 (a file is otherwise followed like tail -F); SIGINT or SIGTERM before the end exits 130 or 143")
	fs.BoolVar(&o.backtest, "backtest", false, "report what each rule would fire, and write no target (the reference data, -customers and -music or the generated set, is still loaded into Redis: the lookups read it there)")
	fs.StringVar(&o.http, "http", "", "serve /metrics, /healthz and the dashboard on this address (e.g. :8080)")
	fs.IntVar(&o.events, "events", 100000, "size of the generated data set when -tracks is not given")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated data set")
	fs.DurationVar(&o.checkpointEvery, "checkpoint-interval", time.Second, "checkpoint interval when reading Kafka or following a file")
	fs.DurationVar(&o.sessionTimeout, "kafka-session-timeout", 10*time.Second, "Kafka consumer-group session timeout: how soon a dead instance's partitions move")
	fs.BoolVar(&o.setNotifications, "set-notifications", true, "when -redis has keyspace notifications off, turn them on (CONFIG SET notify-keyspace-events, logged at WARN with the old and new value) so that changed customers and tracks reach the caches at once; false never changes the server's config (cache invalidation is then off unless they are on)")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 5*time.Second, "after SIGINT or SIGTERM, how long to drain, write and checkpoint what was read; past it the run exits 1, reporting what was not written (its input is not acknowledged: a restart writes it)")
	fs.StringVar(&o.prefix, "prefix", "", "prefix of every Redis key written (default none)")
	fs.StringVar(&o.progress, "progress", "auto", "progress line: auto (on a terminal), on, off")
	fs.BoolVar(&o.quiet, "quiet", false, "print only errors and the final summary")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file")
	fs.StringVar(&o.memory, "memory", "auto", "the memory budget of the process's live heap (e.g. 512MiB, 2GiB; auto: 80% of its cgroup's limit or of the machine's memory; off): past 90% of it, windows fire early, keys forget their state and buffered events are released early (counted as evictions, logged) instead of the process dying by the OOM killer")
	fs.StringVar(&o.sort, "sort", "auto", "with -once (a file, stdin or the generated plays), sort the plays by event time before processing them (on, off; auto: when the lateness is 1h or more), so that a history processed with a lateness covering its disorder is held as ~70 bytes per play, spilled to disk beyond 256 MiB, instead of whole in the operators; the results are the same")
	fs.IntVar(&o.parallelism, "parallelism", runtime.GOMAXPROCS(0), "lanes per partition: a partition's plays are split by customer across this many copies of the operators")
	sourcewatch.Register(fs, &o.watch)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := o.watch.Validate(); err != nil {
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) { o.latenessSet = o.latenessSet || f.Name == "lateness" })
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.offset != "oldest" && o.offset != "newest" {
		return nil, fmt.Errorf("-offset must be oldest or newest, not %q", o.offset)
	}
	if o.parallelism < 1 {
		return nil, errors.New("-parallelism must be at least 1")
	}
	if o.lateness < 0 {
		return nil, errors.New("-lateness must not be negative")
	}
	if o.sort != "auto" && o.sort != "on" && o.sort != "off" {
		return nil, fmt.Errorf("-sort must be auto, on or off, not %q", o.sort)
	}
	if _, err := stream.MemoryFlag(o.memory); err != nil {
		return nil, err
	}
	if o.shutdownTimeout <= 0 {
		return nil, fmt.Errorf("-shutdown-timeout must be positive, not %s", o.shutdownTimeout)
	}
	return o, nil
}

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// runMain runs the command line args and returns the exit status: 0, 1 when
// the run failed (a shutdown that did not write everything included), 2
// for a usage error, 130 or 143 when SIGINT or SIGTERM stopped a -once run
// before the end of its input, or any run before its pipeline started.
func runMain(args []string, stdout, stderr io.Writer) (status int) {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "musicstream:", err)
		return 2
	}
	ctx, stop := runcli.NotifySignals(context.Background())
	defer stop()
	if o.cpuprofile != "" {
		stopProfile, err := runcli.StartCPUProfile(o.cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "musicstream:", err)
			return 2
		}
		defer func() {
			if err := stopProfile(); err != nil {
				fmt.Fprintln(stderr, "musicstream:", err)
				status = max(status, 1)
			}
		}()
	}
	return runcli.ExitStatus(ctx, run(ctx, o, stdout, stderr), stderr, "musicstream")
}
