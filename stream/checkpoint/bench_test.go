package checkpoint

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

var benchSchema = stream.MustSchema("play", stream.Field{Name: "user", Kind: stream.KindInt}, stream.Field{Name: "item", Kind: stream.KindInt})

// BenchmarkCheckpoint measures one checkpoint interval of a CountWithin
// holding N keys when 1% of them change: the incremental checkpoint
// (SnapshotDelta, then Save into Redis) against the whole snapshot the
// same state costs (Snapshot, then one SET), in the same run. Per op: one
// interval. Metrics: delta-ms and delta-bytes (the incremental checkpoint,
// Redis included, and its segments' folding into the hashes every
// CompactAfter intervals, amortized: run 16x or more), snapshot-ms (the part
// of delta-ms on the processing goroutine), whole-ms and whole-bytes, and
// the ratio of whole to delta time.
//
//	go test -run '^$' -bench Checkpoint -benchtime 16x ./stream/checkpoint/
//
// RULESTREAM_BENCH_10M=1 adds 10M keys (about 6 GB of memory).
func BenchmarkCheckpoint(b *testing.B) {
	sizes := []int{10_000, 1_000_000}
	if os.Getenv("RULESTREAM_BENCH_10M") != "" {
		sizes = append(sizes, 10_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) { benchCheckpoint(b, n) })
	}
}

func benchCheckpoint(b *testing.B, n int) {
	rdb, prefix := testredis.Client(b, 5)
	ctx := context.Background()
	op, err := window.NewCountWithin(window.CountWithinConfig{Name: "w", KeyBy: []string{"user", "item"}, Count: 3,
		Within: 24 * time.Hour, AllowedLateness: time.Nanosecond, MaxKeys: 2 * n, MaxPending: 2 * n})
	if err != nil {
		b.Fatal(err)
	}
	if err := op.Start(ctx, stream.Env{Schema: benchSchema, Schemas: []*stream.Schema{benchSchema}}); err != nil {
		b.Fatal(err)
	}
	t := int64(0)
	var em stream.Emitter
	feed := func(users func(i int) int64, count int) {
		evs := make([]stream.Event, 0, 4096)
		flush := func() {
			if err := op.Process(ctx, evs, &em); err != nil {
				b.Fatal(err)
			}
			if err := op.Advance(ctx, t, &em); err != nil {
				b.Fatal(err)
			}
			em.Reset()
			evs = evs[:0]
		}
		for i := range count {
			t += int64(time.Microsecond)
			u := users(i)
			evs = append(evs, stream.Event{Time: t, Schema: benchSchema, Fields: []stream.Value{stream.Int(u), stream.Int(u % 7)}})
			if len(evs) == cap(evs) {
				flush()
			}
		}
		flush()
	}
	feed(func(i int) int64 { return int64(i) }, n)
	store := NewRedis(rdb, prefix)
	key := "bench/plays/0"
	if _, err := store.Load(ctx, key); err != nil {
		b.Fatal(err)
	}
	var snapT time.Duration
	save := func(full bool) (time.Duration, int) {
		start := time.Now()
		part := stream.DeltaPart{Full: full}
		base, err := op.SnapshotDelta(&part)
		if err != nil {
			b.Fatal(err)
		}
		snapT += time.Since(start)
		d := &stream.StateDelta{Meta: base, Parts: []stream.DeltaPart{part}}
		if err := store.Save(ctx, key, &stream.Checkpoint{Offset: t, Delta: d}); err != nil {
			b.Fatal(err)
		}
		return time.Since(start), d.Size()
	}
	firstT, firstB := save(true)
	b.Logf("keys=%d: first (full) checkpoint %.1f ms, %d bytes", n, float64(firstT)/1e6, firstB)
	snapT = 0
	r := rand.New(rand.NewPCG(1, 2))
	var deltaT, wholeT time.Duration
	var deltaB, wholeB int
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		feed(func(int) int64 { return r.Int64N(int64(n)) }, n/100)
		b.StartTimer()
		dt, db := save(false)
		deltaT, deltaB = deltaT+dt, deltaB+db
		b.StopTimer()
		start := time.Now()
		data, err := op.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		if err := rdb.Set(ctx, prefix+"whole", data, 0).Err(); err != nil {
			b.Fatal(err)
		}
		wholeT, wholeB = wholeT+time.Since(start), wholeB+len(data)
		b.StartTimer()
	}
	b.StopTimer()
	rdb.Del(ctx, prefix+"whole")
	per := func(d time.Duration) float64 { return float64(d) / float64(b.N) / 1e6 }
	b.ReportMetric(per(deltaT), "delta-ms")
	b.ReportMetric(per(snapT), "snapshot-ms") // of delta-ms, on the processing goroutine
	b.ReportMetric(float64(deltaB)/float64(b.N), "delta-bytes")
	b.ReportMetric(per(wholeT), "whole-ms")
	b.ReportMetric(float64(wholeB)/float64(b.N), "whole-bytes")
	b.ReportMetric(float64(wholeT)/float64(deltaT), "whole/delta")
	// The store restores what the operator holds.
	if b.N > 0 && n <= 1_000_000 {
		cp, err := store.Load(ctx, key)
		if err != nil {
			b.Fatal(err)
		}
		fresh, _ := window.NewCountWithin(window.CountWithinConfig{Name: "w", KeyBy: []string{"user", "item"}, Count: 3,
			Within: 24 * time.Hour, AllowedLateness: time.Nanosecond, MaxKeys: 2 * n, MaxPending: 2 * n})
		_ = fresh.Start(ctx, stream.Env{Schema: benchSchema, Schemas: []*stream.Schema{benchSchema}})
		if err := fresh.RestoreDelta(cp.Delta.Meta, cp.Delta.Parts[0].Puts); err != nil {
			b.Fatal(err)
		}
		want, _ := op.Snapshot()
		got, _ := fresh.Snapshot()
		if string(want) != string(got) {
			b.Fatalf("restored state differs: %d bytes, want %d", len(got), len(want))
		}
	}
}
