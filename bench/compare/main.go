package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/enrich"
)

type options struct {
	events      int
	redis       string
	seed        uint64
	prefix      string
	peer        string
	peersDir    string
	untuned     bool
	peerArgs    string
	keep        bool
	diagnose    bool
	libOnly     bool
	batch       int
	cpuprofile  string
	memprofile  string
	parallelism int
	disorder    time.Duration
	lateness    time.Duration
	checkpoint  bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.events, "events", 1000000, "plays to generate (duplicate deliveries come on top, about 1%)")
	fs.StringVar(&o.redis, "redis", "", "Redis address host:port (a real redis-server; required)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated data set")
	fs.StringVar(&o.prefix, "prefix", "bench:", "prefix of every key; each run adds its own (base:, lib:, peer:)")
	fs.StringVar(&o.peer, "peer", "", "benthos, handwritten or runner (cmd/rulestream on an ads-only job file): run the ad job against that peer instead of the baseline")
	fs.StringVar(&o.peersDir, "peers", "", "directory of the peer modules (default: bench/peers beside this source)")
	fs.BoolVar(&o.untuned, "untuned", true, "with -peer benthos: also run Benthos with its default settings")
	fs.StringVar(&o.peerArgs, "peer-args", "", "extra arguments for the (tuned) peer run, space-separated, e.g. \"-threads 2 -batch 500\"")
	fs.BoolVar(&o.diagnose, "diagnose", false, "with -peer: also run the library's ad job with its emissions discarded")
	fs.BoolVar(&o.libOnly, "library-only", false, "run only the library's side of the scenario (to profile it); prints no ratio")
	fs.IntVar(&o.batch, "batch", 0, "events per batch of the library's file source (default: the library's, 1024)")
	fs.BoolVar(&o.keep, "keep", false, "keep the keys written (default: delete them at the end)")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the library run to this file")
	fs.StringVar(&o.memprofile, "memprofile", "", "write an allocation profile (every allocation of the process) after the library run to this file")
	fs.IntVar(&o.parallelism, "parallelism", 1, "lanes of the library's scenario pipeline (stream.Config.Parallelism)")
	fs.DurationVar(&o.disorder, "disorder", 0, "shuffle the plays' arrival within this much event time (0: event-time order)")
	fs.DurationVar(&o.lateness, "lateness", 5*time.Minute, "the lateness (watermark bound) of the ad jobs; cover -disorder")
	fs.BoolVar(&o.checkpoint, "checkpoint", true, "with -peer: the library's ad job checkpoints its file offset and state in Redis, so that its writes are exactly once across crashes (false: idempotent by TTL markers only)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	case o.redis == "":
		return nil, errors.New("-redis is required: the comparisons measure a real redis-server")
	case o.events <= 0:
		return nil, errors.New("-events must be positive")
	case o.peer != "" && o.peer != "benthos" && o.peer != "handwritten" && o.peer != "runner":
		return nil, fmt.Errorf("-peer must be benthos, handwritten or runner, not %q", o.peer)
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

// errDiffer is returned when the two sides wrote different results.
var errDiffer = errors.New("results differ")

func run(ctx context.Context, o *options, out io.Writer) error {
	if enrich.IsCluster(o.redis) {
		return fmt.Errorf("-redis %s: one server, not a cluster: it measures one server (INFO cpu, redis-benchmark)", enrich.Redact(o.redis))
	}
	opts, err := enrich.ParseAddr(o.redis)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis %s: %w", o.redis, err)
	}
	start := time.Now()
	in, err := generateShuffled(o.events, o.seed, o.disorder)
	if err != nil {
		return err
	}
	order := "event-time order"
	if o.disorder > 0 {
		order = fmt.Sprintf("arrival shuffled within %v of event time", o.disorder)
	}
	fmt.Fprintf(out, "input: %d plays delivered (%d duplicate deliveries), %d customers, %d tracks, seed %d, %s; generated in %.1fs\n",
		in.lines(), in.data.Duplicates, len(in.data.Customers), len(in.data.Tracks), o.seed, order, time.Since(start).Seconds())
	if o.peer != "" {
		return runPeerComparison(ctx, o, rdb, in, out)
	}
	_, err = compareBaseline(ctx, o, rdb, in, out)
	return err
}

// profile runs fn under a CPU profile when path is set.
func profile(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return fn()
}

// writeHeap writes the allocation profile to path.
func writeHeap(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("allocs").WriteTo(f, 0)
}
