// Command latency measures decision latency end to end, as users run the
// binaries: from an append to a followed file (or a produce to Kafka) to
// the entry in Redis, at given rates, for the music stream's per-event rule
// (upgrade_ad, queue:ads) and its count_within rule (interest,
// queue:interest); and, with -absence, how long after its deadline an
// absence (the web shop's abandoned cart) is written while its input is
// idle.
//
//	go run ./bench/latency -redis 127.0.0.1:6379                 # file, 1k and 10k plays/s
//	go run ./bench/latency -redis 127.0.0.1:6379 -source kafka   # an in-process kfake broker
//	go run ./bench/latency -redis 127.0.0.1:6379 -absence
//
// Run it from the repository root: it builds ./examples/musicstream and
// ./cmd/rulestream. The time an entry reached Redis is its stream id's
// (Redis's clock, milliseconds); the append's is taken just before the
// write, on the same machine. Each line printed is
//
//	<source> <rate>/s <rule>: n=N p50=X ms p99=Y ms max=Z ms
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/enrich"
)

type options struct {
	redis    string
	source   string
	rates    []int
	duration time.Duration
	absence  bool
	carts    int
	within   time.Duration
	bin      string
	keep     bool
	extra    []string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("latency", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rates string
	fs.StringVar(&o.redis, "redis", "", "a Redis (host:port) the binaries write to, under a fresh prefix. Required")
	fs.StringVar(&o.source, "source", "file", "file (a followed file appended to) or kafka (an in-process kfake broker produced to)")
	fs.StringVar(&rates, "rates", "1000,10000", "plays per second, comma-separated: one run each")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each rate is fed")
	fs.BoolVar(&o.absence, "absence", false, "measure the absence instead: carts with no purchase, then an idle input")
	fs.IntVar(&o.carts, "carts", 200, "with -absence, carts written at once")
	fs.DurationVar(&o.within, "within", 45*time.Second, "with -absence, the abandoned-cart window's within (the job's idle_advance is 30s)")
	fs.StringVar(&o.bin, "bin", "", "directory of prebuilt musicstream and rulestream binaries (default: go build them)")
	fs.BoolVar(&o.keep, "keep", false, "keep the Redis keys written")
	var extra string
	fs.StringVar(&extra, "args", "", "more flags for the binary, space-separated (e.g. \"-checkpoint-interval 5s\")")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.extra = strings.Fields(extra)
	if o.redis == "" {
		return nil, errors.New("-redis is required")
	}
	if o.source != "file" && o.source != "kafka" {
		return nil, fmt.Errorf("-source must be file or kafka, not %q", o.source)
	}
	for _, r := range strings.Split(rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-rates: %q is not a positive number", r)
		}
		o.rates = append(o.rates, n)
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o *options, out io.Writer) error {
	if enrich.IsCluster(o.redis) {
		return fmt.Errorf("-redis %s: one server, not a cluster: it reads its streams with one XREAD and deletes its keys with SCAN, both on one server", enrich.Redact(o.redis))
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
	dir, err := os.MkdirTemp("", "latency")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := o.bin
	if bin == "" {
		bin = dir
		for _, pkg := range []string{"./examples/musicstream", "./cmd/rulestream"} {
			cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("go build %s (run from the repository root): %w", pkg, err)
			}
		}
	}
	if o.absence {
		return runAbsence(ctx, o, rdb, bin, dir, out)
	}
	for _, rate := range o.rates {
		if err := runPlays(ctx, o, rdb, bin, dir, rate, out); err != nil {
			return err
		}
	}
	return nil
}

// prefix is a fresh key prefix for one run.
func prefix(what string) string {
	return fmt.Sprintf("latency:%s:%d:", what, time.Now().UnixNano())
}

// cleanup deletes the keys under p unless -keep.
func cleanup(ctx context.Context, o *options, rdb *redis.Client, p string) {
	if o.keep {
		return
	}
	iter := rdb.Scan(ctx, 0, p+"*", 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}

// startBinary starts a binary with its output in a file of dir, and
// returns a function that stops it (SIGTERM) and waits.
func startBinary(ctx context.Context, dir, path string, args ...string) (func() error, error) {
	log, err := os.Create(filepath.Join(dir, filepath.Base(path)+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	return func() error {
		defer log.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				b, _ := os.ReadFile(log.Name())
				return fmt.Errorf("%s: %w\n%s", filepath.Base(path), err, b)
			}
			return nil
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			return fmt.Errorf("%s did not stop within 30s of SIGTERM", filepath.Base(path))
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return ctx.Err()
		}
	}, nil
}
