package analytics

import (
	"context"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

// BenchmarkAnalytics pushes 100,000 enriched plays (one a second on
// average, as the example generates them: 28 hours of event time, 5000
// customers, 1750 tracks) through a fresh operator per iteration, in batches of 1024, advancing
// the watermark after each batch as the runner would (2 minutes behind the
// newest event), with the hourly and daily writes to the test Redis.
func BenchmarkAnalytics(b *testing.B) {
	rdb, prefix := testRedis(b)
	d := gen.Generate(gen.Config{Seed: 7, Plays: 100000, Duplicates: 0.01, MaxDelay: time.Minute})
	evs := enriched(d, 0, true)
	ctx := context.Background()
	env := stream.Env{Pipeline: "bench", Clock: stream.SystemClock{}}
	var em stream.Emitter
	b.ReportAllocs()
	var keys int64
	var writing time.Duration
	for b.Loop() {
		a, err := New(rdb, stream.PartitionID{Partition: -1}, Config{Prefix: prefix})
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Start(ctx, env); err != nil {
			b.Fatal(err)
		}
		var maxT int64
		for i := 0; i < len(evs); i += 1024 {
			batch := evs[i:min(i+1024, len(evs))]
			for _, ev := range batch {
				maxT = max(maxT, ev.Time)
			}
			if err := a.Process(ctx, batch, &em); err != nil {
				b.Fatal(err)
			}
			if err := a.Advance(ctx, maxT-int64(2*time.Minute), &em); err != nil {
				b.Fatal(err)
			}
		}
		if err := a.Advance(ctx, stream.MaxWatermark, &em); err != nil {
			b.Fatal(err)
		}
		st := a.Stats()
		if st.WriteErrors != 0 || st.Pending != 0 {
			b.Fatalf("stats %+v", st)
		}
		keys += st.Keys
		writing += st.WriteTime
	}
	b.ReportMetric(float64(b.N)*float64(len(evs))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(keys)/float64(b.N), "keys/op")
	b.ReportMetric(float64(writing.Milliseconds())/float64(b.N), "write-ms/op")
}

// BenchmarkProject measures the projection of enriched plays alone.
func BenchmarkProject(b *testing.B) {
	evs := enriched(genData(10000), 0, true)
	var p projector
	b.ReportAllocs()
	for b.Loop() {
		for i := 0; i < len(evs); i += 1024 {
			p.project(evs[i:min(i+1024, len(evs))])
		}
	}
	b.ReportMetric(float64(b.N)*float64(len(evs))/b.Elapsed().Seconds(), "events/s")
}
