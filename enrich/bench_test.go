package enrich

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/internal/cputime"
	"github.com/rulestream/rulestream/stream"
)

func benchCache(b *testing.B, n int) *Cache {
	c, err := NewCache(CacheConfig{MaxEntries: 2 * n, TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		c.Set(strconv.Itoa(i), rec(int64(i)))
	}
	return c
}

// BenchmarkCacheHit is one cache hit by an id held in a scratch buffer, as
// Lookup.Process does it (the clock read once per batch), in a cache of
// 100k entries: reading a hot set of 1024 ids (in CPU caches), and sweeping
// all 100k (each hit a trip to memory).
func BenchmarkCacheHit(b *testing.B) {
	c := benchCache(b, 100000)
	now := time.Now().UnixNano()
	for _, n := range []int{1024, 100000} {
		b.Run("ids="+strconv.Itoa(n), func(b *testing.B) {
			ids := make([][]byte, n)
			for i := range ids {
				ids[i] = strconv.AppendInt(nil, int64(i*97%100000), 10)
			}
			b.ReportAllocs()
			i := 0
			cpu := cputime.Process()
			for b.Loop() {
				if _, ok := c.getHit(ids[i], now); !ok {
					b.Fatal("miss")
				}
				if i++; i == n {
					i = 0
				}
			}
			reportCPU(b, cpu, b.N, "cpu-ns/op")
		})
	}
}

// reportCPU reports the process CPU time per unit since start.
func reportCPU(b *testing.B, start time.Duration, units int, name string) {
	if d := cputime.Process() - start; d > 0 && units > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(units), name)
	}
}

// BenchmarkCacheGet is the exported Get (string id, clock read per call).
func BenchmarkCacheGet(b *testing.B) {
	c := benchCache(b, 100000)
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = strconv.Itoa(i * 97 % 100000)
	}
	b.ReportAllocs()
	i := 0
	cpu := cputime.Process()
	for b.Loop() {
		if _, ok := c.Get(ids[i&1023]); !ok {
			b.Fatal("miss")
		}
		i++
	}
	reportCPU(b, cpu, b.N, "cpu-ns/op")
}

// BenchmarkCacheHitParallel is cache hits from all cores at once.
func BenchmarkCacheHitParallel(b *testing.B) {
	c := benchCache(b, 100000)
	now := time.Now().UnixNano()
	b.ReportAllocs()
	var seed atomic.Int64
	b.ResetTimer()
	cpu := cputime.Process()
	b.RunParallel(func(pb *testing.PB) {
		var buf []byte
		i := int(seed.Add(1) * 7919) // goroutines read different ids
		for pb.Next() {
			buf = strconv.AppendInt(buf[:0], int64(i*97%100000), 10)
			if _, ok := c.getHit(buf, now); !ok {
				b.Error("miss")
				return
			}
			i++
		}
	})
	reportCPU(b, cpu, b.N, "cpu-ns/op")
}

// BenchmarkLookupProcessHits is Lookup.Process on batches that hit the
// cache only; it needs no Redis (a client to nowhere is never used).
func BenchmarkLookupProcessHits(b *testing.B) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	cfg := customerLookup("")
	cfg.CacheConfig = CacheConfig{TTL: time.Hour}
	l, err := NewLookup(client, cfg)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		l.Cache().Set(strconv.Itoa(i), &stream.Record{Schema: gen.CustomerSchema, Values: make([]stream.Value, 12)})
	}
	ids := make([]int64, 512)
	for i := range ids {
		ids[i] = int64(i * 7 % 1000)
	}
	evs := playEvents(ids, make([]int64, len(ids)))
	for i := range evs {
		evs[i].Joins = make([]stream.Join, 0, 2)
	}
	var out stream.Emitter
	ctx := context.Background()
	b.ReportAllocs()
	cpu := cputime.Process()
	for b.Loop() {
		out.Reset()
		if err := l.Process(ctx, evs, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*float64(len(evs))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
	reportCPU(b, cpu, b.N*len(evs), "cpu-ns/event")
}

// BenchmarkLookupProcessHitsTwoFields is BenchmarkLookupProcessHits with a
// key of two placeholders: each event's key is rendered and looked up whole.
func BenchmarkLookupProcessHitsTwoFields(b *testing.B) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	l, err := NewLookup(client, LookupConfig{Name: "play", Key: "play:{customer_id}:{track_id}", Schema: gen.TrackSchema,
		CacheConfig: CacheConfig{TTL: time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]int64, 512)
	for i := range ids {
		ids[i] = int64(i * 7 % 1000)
		l.Cache().Set("play:"+strconv.FormatInt(ids[i], 10)+":"+strconv.FormatInt(ids[i]%50, 10), rec(ids[i]))
	}
	tracks := make([]int64, len(ids))
	for i := range tracks {
		tracks[i] = ids[i] % 50
	}
	evs := playEvents(ids, tracks)
	for i := range evs {
		evs[i].Joins = make([]stream.Join, 0, 2)
	}
	var out stream.Emitter
	ctx := context.Background()
	b.ReportAllocs()
	cpu := cputime.Process()
	for b.Loop() {
		out.Reset()
		if err := l.Process(ctx, evs, &out); err != nil {
			b.Fatal(err)
		}
	}
	if rec, _ := out.Events()[0].Joined("play"); rec == nil {
		b.Fatal("no join")
	}
	b.ReportMetric(float64(b.N)*float64(len(evs))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
	reportCPU(b, cpu, b.N*len(evs), "cpu-ns/event")
}

// benchRedis returns a client for benchmarks needing Redis (skipping
// without RULESTREAM_TEST_REDIS) and a key prefix removed afterwards.
func benchRedis(b *testing.B) (*redis.Client, string) {
	if os.Getenv("RULESTREAM_TEST_REDIS") == "" {
		b.Skip("RULESTREAM_TEST_REDIS is not set")
	}
	return testClient(b)
}

// BenchmarkLookupMisses fetches every id of each 1000-event batch from
// Redis: one pipelined round trip per batch, with several lookups (one per
// core) running at once as Parallel branches or pipelines would.
func BenchmarkLookupMisses(b *testing.B) {
	client, prefix := benchRedis(b)
	const customers = 20000
	_, cust, _ := genFiles(b, gen.Config{Seed: 5, Customers: customers, Tracks: 1, Plays: -1})
	if _, err := LoadTable(context.Background(), client, bytes.NewReader(cust), custTable, LoadConfig{Prefix: prefix}); err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 4} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			lookups := make([]*Lookup, workers)
			for w := range lookups {
				cfg := customerLookup(prefix)
				// A cache far smaller than the ids cycled through: every
				// lookup misses, and pays for an eviction too.
				cfg.CacheConfig = CacheConfig{MaxEntries: 1000, NegativeTTL: -1}
				l, err := NewLookup(client, cfg)
				if err != nil {
					b.Fatal(err)
				}
				lookups[w] = l
			}
			batchOf := func(w, it int) []stream.Event {
				ids := make([]int64, 1000)
				for i := range ids {
					ids[i] = int64((w*5000 + it*1000 + i) % customers)
				}
				return playEvents(ids, make([]int64, len(ids)))
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cputime.Process()
			var wg sync.WaitGroup
			per := (b.N + workers - 1) / workers
			for w := range lookups {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var out stream.Emitter
					batches := make([][]stream.Event, customers/1000)
					for it := range batches {
						batches[it] = batchOf(w, it)
					}
					for it := range per {
						out.Reset()
						if err := lookups[w].Process(context.Background(), batches[it%len(batches)], &out); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			n := float64(per * workers * 1000)
			b.ReportMetric(n/b.Elapsed().Seconds(), "lookups/s")
			reportCPU(b, cpu, int(n), "client-cpu-ns/lookup")
		})
	}
}

// BenchmarkLoadCustomers loads 1M generated customers per iteration.
func BenchmarkLoadCustomers(b *testing.B) {
	client, prefix := benchRedis(b)
	n := 1000000
	if testing.Short() {
		n = 50000
	}
	_, cust, _ := genFiles(b, gen.Config{Seed: 9, Customers: n, Tracks: 1, Plays: -1})
	b.SetBytes(int64(len(cust)))
	b.ReportAllocs()
	var rows int64
	cpu := cputime.Process()
	for b.Loop() {
		sum, err := LoadTable(context.Background(), client, bytes.NewReader(cust), custTable, LoadConfig{Prefix: prefix})
		if err != nil || sum.Loaded != int64(n) {
			b.Fatalf("%+v %v", sum, err)
		}
		rows += sum.Loaded
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	reportCPU(b, cpu, int(rows), "client-cpu-ns/row")
}
