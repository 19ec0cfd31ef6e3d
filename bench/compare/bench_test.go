package main

import (
	"context"
	"testing"
)

// BenchmarkLibraryScenario measures the library's pipeline on the whole
// scenario (100k plays per iteration) against RULESTREAM_TEST_REDIS.
func BenchmarkLibraryScenario(b *testing.B) { benchScenario(b, true) }

// BenchmarkBaselineScenario measures the baseline on the same input.
func BenchmarkBaselineScenario(b *testing.B) { benchScenario(b, false) }

func benchScenario(b *testing.B, library bool) {
	rdb := testRedis(b)
	ctx := context.Background()
	in, err := generate(100000, 1)
	if err != nil {
		b.Fatal(err)
	}
	prefix := "benchcompare:bench:"
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		b.StopTimer()
		if err := prepare(ctx, rdb, in, prefix); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if library {
			res, err := runLibrary(ctx, rdb, prefix, readerOf(in.plays), 0, 0)
			if err != nil {
				b.Fatal(err)
			}
			events += int(res.events)
		} else {
			n, err := runBaseline(ctx, rdb, prefix, in.plays)
			if err != nil {
				b.Fatal(err)
			}
			events += n
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	_ = clean(ctx, rdb, prefix)
}
