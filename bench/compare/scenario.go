package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/redis/go-redis/v9"
)

// outcome is the result of a baseline-versus-library comparison.
type outcome struct {
	baseRate, libRate float64
	identical         bool
	base, lib         results
}

func (c outcome) ratio() float64 { return c.libRate / c.baseRate }

// compareBaseline runs the baseline and the library on in, each under its own
// prefix, compares their Redis results and prints the figures, "ratio: N.N"
// last. It returns errDiffer when the results differ.
func compareBaseline(ctx context.Context, o *options, rdb *redis.Client, in *input, out io.Writer) (outcome, error) {
	basePrefix, libPrefix := o.prefix+"base:", o.prefix+"lib:"
	var c outcome
	for _, p := range []string{basePrefix, libPrefix} {
		if err := prepare(ctx, rdb, in, p); err != nil {
			return c, err
		}
	}
	if !o.keep {
		defer func() {
			_ = clean(context.WithoutCancel(ctx), rdb, basePrefix)
			_ = clean(context.WithoutCancel(ctx), rdb, libPrefix)
		}()
	}

	var lib libResult
	cpu := startCPU(ctx, rdb)
	err := profile(o.cpuprofile, func() error {
		var err error
		lib, err = runLibrary(ctx, rdb, libPrefix, readerOf(in.plays), o.batch, o.parallelism)
		return err
	})
	if err != nil {
		return c, fmt.Errorf("library: %w", err)
	}
	c.libRate = rate(int(lib.events), lib.elapsed)
	fmt.Fprintf(out, "library:  %d events in %.2fs = %.0f events/s (%s; redis-server CPU %.2fs)\n",
		lib.events, lib.elapsed.Seconds(), c.libRate, lib.summary, cpu.seconds(ctx))

	if o.libOnly {
		return c, nil
	}
	cpu = startCPU(ctx, rdb)
	start := time.Now()
	n, err := runBaseline(ctx, rdb, basePrefix, in.plays)
	if err != nil {
		return c, fmt.Errorf("baseline: %w", err)
	}
	elapsed := time.Since(start)
	c.baseRate = rate(n, elapsed)
	fmt.Fprintf(out, "baseline: %d events in %.2fs = %.0f events/s (redis-server CPU %.2fs)\n", n, elapsed.Seconds(), c.baseRate, cpu.seconds(ctx))

	if c.base, err = readResults(ctx, rdb, basePrefix); err != nil {
		return c, err
	}
	if c.lib, err = readResults(ctx, rdb, libPrefix); err != nil {
		return c, err
	}
	db, dl := c.base.digest(), c.lib.digest()
	fmt.Fprintf(out, "baseline results: %s digest %s\n", c.base.summary(), db)
	fmt.Fprintf(out, "library results:  %s digest %s\n", c.lib.summary(), dl)
	c.identical = db == dl
	if c.identical {
		fmt.Fprintln(out, "results: identical (every interest set with members and scores, every stream entry's fields; stream ids and idempotency markers excluded)")
	} else {
		fmt.Fprintln(out, "results: DIFFERENT")
		for _, l := range diff(c.base, c.lib, "baseline", "library", 20) {
			fmt.Fprintln(out, "  "+l)
		}
	}
	fmt.Fprintf(out, "ratio: %.1f\n", c.ratio())
	if !c.identical {
		return c, errDiffer
	}
	return c, nil
}
