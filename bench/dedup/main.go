// Command dedup measures the Redis memory the exactly-once writes spend on
// deduplication: the ad job (upgrade_ad without cooldown, XADD queue:ads)
// run by cmd/rulestream, as a user runs it, over generated plays, twice:
//
//   - followed (the file is checkpointed, every second): the markers of the
//     partition's events are kept per checkpoint generation and dropped once
//     a later checkpoint is saved;
//   - with -once (no checkpoint): the markers are kept for MarkerTTL.
//
// It reports, for each, the entries written and the marker keys' MEMORY
// USAGE, at its highest while the run goes (sampled) and after it:
//
//	go run ./bench/dedup -redis 127.0.0.1:6379 -events 12500000
//
// Run it from the repository root: it builds ./cmd/rulestream.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/bench/internal/adjob"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream/checkpoint"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "dedup:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dedup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("redis", "", "a Redis (host:port) to write to, under a fresh prefix. Required")
	events := fs.Int("events", 12_500_000, "plays to generate (about 80% are written as ads)")
	once := fs.Bool("once", true, "also run with -once (markers kept for their TTL), for comparison")
	keep := fs.Bool("keep", false, "keep the keys written")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr == "" {
		return errors.New("-redis is required")
	}
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: *addr})
	defer rdb.Close()
	dir, err := os.MkdirTemp("", "dedup")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "rulestream")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/rulestream").CombinedOutput(); err != nil {
		return fmt.Errorf("build cmd/rulestream: %w\n%s", err, out)
	}
	start := time.Now()
	d := gen.Generate(gen.Config{Seed: 7, Plays: *events})
	plays, customers := filepath.Join(dir, "plays.csv"), filepath.Join(dir, "customers.csv")
	if err := writeFile(plays, func(w io.Writer) error { return gen.WritePlays(w, d.Plays) }); err != nil {
		return err
	}
	if err := writeFile(customers, func(w io.Writer) error { return gen.WriteCustomerHashes(w, d.Customers) }); err != nil {
		return err
	}
	job := filepath.Join(dir, "adjob.yaml")
	if err := os.WriteFile(job, []byte(adjob.YAML(plays, "5m", customers)), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "generated %d plays in %.1fs\n", len(d.Plays), time.Since(start).Seconds())
	lines := int64(len(d.Plays))
	d = nil

	base := fmt.Sprintf("dedup:%d:", time.Now().UnixNano())
	px := base + "followed:"
	cmd := exec.Command(bin, "-job", job, "-redis", *addr, "-prefix", px, "-quiet", "-progress", "off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	store := checkpoint.NewRedis(rdb, px+"checkpoint:adjob/")
	key := "adjob/" + plays + "/-1"
	var peak int64
	began := time.Now()
	for {
		select {
		case err := <-done:
			return fmt.Errorf("the followed run ended: %v\n%s", err, out.Bytes())
		case <-time.After(500 * time.Millisecond):
		}
		m, err := markerMemory(ctx, rdb, px)
		if err != nil {
			return err
		}
		peak = max(peak, m.bytes)
		cp, err := store.Header(ctx, key)
		if err != nil {
			return err
		}
		if cp != nil && cp.Offset > lines {
			break
		}
	}
	took := time.Since(began)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	if err := <-done; err != nil {
		return fmt.Errorf("the followed run, stopped: %v\n%s", err, out.Bytes())
	}
	report(ctx, stdout, rdb, px, "followed (checkpointed)", peak, took)

	if *once {
		px = base + "once:"
		began = time.Now()
		if o, err := exec.Command(bin, "-job", job, "-once", "-redis", *addr, "-prefix", px, "-quiet", "-progress", "off").CombinedOutput(); err != nil {
			return fmt.Errorf("the -once run: %v\n%s", err, o)
		}
		report(ctx, stdout, rdb, px, "-once (markers for MarkerTTL)", -1, time.Since(began))
	}
	if !*keep {
		it := rdb.Scan(ctx, 0, base+"*", 1000).Iterator()
		for it.Next(ctx) {
			rdb.Unlink(ctx, it.Val())
		}
	}
	return nil
}

func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type usage struct {
	keys, members, bytes int64
}

// markerMemory sums the marker keys under px: their count, members and
// MEMORY USAGE (every element sampled).
func markerMemory(ctx context.Context, rdb *redis.Client, px string) (usage, error) {
	var u usage
	it := rdb.Scan(ctx, 0, px+"rulestream:done:*", 1000).Iterator()
	for it.Next(ctx) {
		k := it.Val()
		u.keys++
		n, err := rdb.MemoryUsage(ctx, k, 0).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return u, err
		}
		u.bytes += n
		if rdb.Type(ctx, k).Val() == "set" {
			u.members += rdb.SCard(ctx, k).Val()
		}
	}
	return u, it.Err()
}

func report(ctx context.Context, w io.Writer, rdb *redis.Client, px, what string, peak int64, took time.Duration) {
	m, err := markerMemory(ctx, rdb, px)
	if err != nil {
		fmt.Fprintf(w, "%s: %v\n", what, err)
		return
	}
	written := rdb.XLen(ctx, px+"queue:ads").Val()
	// INFO's view: what used_memory gives back when the marker keys go
	// (DEL, not UNLINK: freed before the next INFO).
	before := settledMemory(ctx, rdb)
	it := rdb.Scan(ctx, 0, px+"rulestream:done:*", 1000).Iterator()
	for it.Next(ctx) {
		rdb.Del(ctx, it.Val())
	}
	freed := before - settledMemory(ctx, rdb)
	line := fmt.Sprintf("%s: %d entries written in %.1fs; deduplication: %d keys, %d markers, %d bytes (MEMORY USAGE), INFO used_memory %d bytes lower without them",
		what, written, took.Seconds(), m.keys, m.members, m.bytes, freed)
	if peak >= 0 {
		line += fmt.Sprintf(", at most %d bytes while it ran (sampled every 0.5s)", peak)
	}
	fmt.Fprintln(w, strings.TrimSpace(line))
}

// usedMemory returns INFO memory's used_memory.
func usedMemory(ctx context.Context, rdb *redis.Client) int64 {
	info := rdb.Info(ctx, "memory").Val()
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// settledMemory returns used_memory once it stopped moving (the connections
// of a process that just ended are freed meanwhile): two readings 0.5s
// apart within 16 KB, or the last of 20.
func settledMemory(ctx context.Context, rdb *redis.Client) int64 {
	prev := usedMemory(ctx, rdb)
	for range 20 {
		time.Sleep(500 * time.Millisecond)
		cur := usedMemory(ctx, rdb)
		if d := cur - prev; d < 16<<10 && d > -16<<10 {
			return cur
		}
		prev = cur
	}
	return prev
}
