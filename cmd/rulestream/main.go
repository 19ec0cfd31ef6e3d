// Command rulestream runs a job file: its input, lookups, windows, CEL rules
// and Redis targets, declared in YAML (see docs/jobs.md).
//
//	go run ./cmd/rulestream -job examples/musicstream/job.yaml -once
//
// Without -redis an embedded Redis-protocol server is started, and its
// address printed, so that a job runs with nothing installed.
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
	"github.com/rulestream/rulestream/targets"
)

// options are the command line.
type options struct {
	job             string
	input           string
	redis           string
	once, backtest  bool
	http            string
	prefix          string
	parallelism     int
	checkpointEvery time.Duration
	sessionTimeout  time.Duration
	shutdownTimeout time.Duration
	explain         bool
	print, schema   bool
	quiet           bool
	progress        string
	cpuprofile      string
	sort            string
	memory          string
	watch           sourcewatch.Options

	// onReload, when set (tests only; no flag sets it), is called after
	// each attempt to reload the job file, with its outcome: nil when the
	// rules were swapped in or unchanged, an error wrapping
	// job.ErrRestartNeeded, or the file's error. It runs on the watcher's
	// goroutine, after the outcome was logged; the first call is the
	// watcher's initial load, before any change to the file.
	onReload func(error)
	// targetBatch, when set (tests only), is the batch policy of the
	// job's Redis targets instead of the default.
	targetBatch targets.BatchPolicy
	// onRedisClose, when set (tests only), is called just before the Redis
	// client (and the embedded server) is closed.
	onRedisClose func()
	// probe, when set (tests only: a clock, a hook), configures the PING
	// behind /healthz's redis check; Every defaults to 1s.
	probe metrics.ProbeConfig
	// onPipeline, when set (tests only), is called with the pipeline
	// before it runs.
	onPipeline func(*stream.Pipeline)
	// files, when set (tests only), configures the file sources (a poll
	// interval).
	files stream.FileConfig
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("rulestream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.job, "job", "", "the job file (YAML; see docs/jobs.md). Required")
	fs.StringVar(&o.input, "input", "", "read this file, glob or - (stdin) instead of the job's input path")
	fs.StringVar(&o.redis, "redis", "", "Redis address (host:port or redis:// / rediss:// URL; several, comma-separated, for a Redis Cluster: host:port,host:port,...). Default: an embedded Redis-protocol server")
	fs.BoolVar(&o.once, "once", false, "process the input to its end, flush, exit (a file is otherwise followed like tail -F, Kafka read until SIGINT/SIGTERM); SIGINT or SIGTERM before the end exits 130 or 143")
	fs.BoolVar(&o.backtest, "backtest", false, "report what each rule would fire over the input, and write nothing")
	fs.StringVar(&o.http, "http", "", "serve /metrics and /healthz on this address (e.g. :8080)")
	fs.StringVar(&o.prefix, "prefix", "", "prefix of every Redis key the job reads or writes (default none)")
	fs.IntVar(&o.parallelism, "parallelism", runtime.GOMAXPROCS(0), "lanes per partition, split by the input's key (1 when the job's windows do not allow it)")
	fs.DurationVar(&o.checkpointEvery, "checkpoint-interval", time.Second, "checkpoint interval when reading Kafka or following a file")
	fs.DurationVar(&o.sessionTimeout, "kafka-session-timeout", 10*time.Second, "Kafka consumer-group session timeout")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 5*time.Second, "after SIGINT or SIGTERM, how long to drain, write and checkpoint what was read; past it the run exits 1, reporting what was not written (its input is not acknowledged: a restart writes it)")
	fs.BoolVar(&o.explain, "explain", false, "add an explain field (the values each condition read) to every emission")
	fs.BoolVar(&o.schema, "schema", false, "print the JSON Schema of job files, then exit")
	fs.BoolVar(&o.print, "print", false, "print the job as loaded (every default resolved) and what would be built, then exit")
	fs.BoolVar(&o.quiet, "quiet", false, "print only errors and the final summary")
	fs.StringVar(&o.progress, "progress", "auto", "progress line: auto (on a terminal), on, off")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file")
	fs.StringVar(&o.memory, "memory", "auto", "the memory budget of the process's live heap (e.g. 512MiB, 2GiB; auto: 80% of its cgroup's limit or of the machine's memory; off): past 90% of it, windows fire early, keys forget their state and buffered events are released early (counted as evictions, logged) instead of the process dying by the OOM killer")
	fs.StringVar(&o.sort, "sort", "auto", "with -once on files or stdin, sort the input by event time before processing it (on, off; auto: when the lateness is 1h or more and the job holds events or windows until the watermark), so that a history processed with a lateness covering its disorder is held as ~70 bytes per event, spilled to disk beyond 256 MiB, instead of whole in the operators; the results are the same")
	sourcewatch.Register(fs, &o.watch)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := o.watch.Validate(); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	case o.job == "" && !o.schema:
		return nil, errors.New("-job is required: the job file to run")
	case o.parallelism < 1:
		return nil, errors.New("-parallelism must be at least 1")
	case o.progress != "auto" && o.progress != "on" && o.progress != "off":
		return nil, fmt.Errorf("-progress must be auto, on or off, not %q", o.progress)
	case o.sort != "auto" && o.sort != "on" && o.sort != "off":
		return nil, fmt.Errorf("-sort must be auto, on or off, not %q", o.sort)
	case o.shutdownTimeout <= 0:
		return nil, fmt.Errorf("-shutdown-timeout must be positive, not %s", o.shutdownTimeout)
	}
	if _, err := stream.MemoryFlag(o.memory); err != nil {
		return nil, err
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
		fmt.Fprintln(stderr, "rulestream:", err)
		return 2
	}
	ctx, stop := runcli.NotifySignals(context.Background())
	defer stop()
	if o.cpuprofile != "" {
		stopProfile, err := runcli.StartCPUProfile(o.cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "rulestream:", err)
			return 2
		}
		defer func() {
			if err := stopProfile(); err != nil {
				fmt.Fprintln(stderr, "rulestream:", err)
				status = max(status, 1)
			}
		}()
	}
	return runcli.ExitStatus(ctx, run(ctx, o, stdout, stderr), stderr, "rulestream")
}
