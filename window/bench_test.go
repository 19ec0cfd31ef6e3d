package window_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/internal/cputime"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// benchSize is the number of events of one benchmark run; under plain
// `go test` (no -bench) the benchmarks are not run at all.
const (
	cwKeys   = 1_000_000
	cwEvents = 6_000_000
	batchLen = 1024
)

// cplay is a play without pointers (zip is an index into zips), so that
// millions of them cost the garbage collector nothing.
type cplay struct {
	id, cust, track, t int64
	zip                int32
}

type plays struct {
	ps   []cplay
	zips []string
}

func compact(src []gen.Play) plays {
	var out plays
	idx := map[string]int32{}
	for _, p := range src {
		z, ok := idx[p.Zip]
		if !ok {
			z = int32(len(out.zips))
			idx[p.Zip] = z
			out.zips = append(out.zips, p.Zip)
		}
		out.ps = append(out.ps, cplay{p.EventID, p.CustomerID, p.TrackID, p.Time.UnixNano(), z})
	}
	return out
}

// batcher builds batches of play events from compact plays, outside the
// timer. Two alternating buffers: an operator may keep events of the last
// batch (pending the watermark), never older ones in these benchmarks.
type batcher struct {
	evs  [2][]stream.Event
	vals [2][]stream.Value
	n    int
}

func newBatcher() *batcher {
	b := &batcher{}
	for i := range 2 {
		b.evs[i] = make([]stream.Event, batchLen)
		b.vals[i] = make([]stream.Value, batchLen*6)
	}
	return b
}

func (b *batcher) fill(ps []cplay, zips []string) []stream.Event {
	b.n ^= 1
	evs, vals := b.evs[b.n][:len(ps)], b.vals[b.n]
	for i, p := range ps {
		f := vals[i*6 : i*6+6 : i*6+6]
		f[0], f[1], f[2] = stream.Int(p.id), stream.Int(p.cust), stream.Int(p.track)
		f[3], f[4], f[5] = stream.TimeNanos(p.t), stream.Bool(p.id%2 == 1), stream.String(zips[p.zip])
		evs[i] = stream.Event{Time: p.t, Schema: gen.PlaySchema, Fields: f,
			Pos: stream.Position{Source: "bench", Partition: 0, Offset: p.id}}
	}
	return evs
}

// syntheticPlays: n plays in event-time order over span, each by one of
// keys (customer, track) pairs drawn uniformly.
func syntheticPlays(n, keys int, span time.Duration) plays {
	r := rand.New(rand.NewPCG(42, 42))
	ps := make([]cplay, n)
	step := int64(span) / int64(n)
	for i := range ps {
		k := r.IntN(keys)
		ps[i] = cplay{id: int64(i), cust: int64(k / 100), track: int64(k % 100), t: base + int64(i)*step}
	}
	return plays{ps: ps, zips: []string{"10001"}}
}

// runOps feeds b.N plays to fresh operators (a new one each time ps is
// exhausted) in batches, advancing the watermark to the highest time minus
// bound after each batch; one op is one play. It returns the last
// operator (before its final watermark) and the number of results.
func runOps(b *testing.B, newOp func() stream.Operator, data plays, bound time.Duration, atEnd func(op stream.Operator)) int {
	ps := data.ps
	ctx := context.Background()
	bt := newBatcher()
	var out stream.Emitter
	var cpu cpuClock
	results := 0
	b.ReportAllocs()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	b.ResetTimer()
	for done := 0; done < b.N; {
		op := newOp()
		for i := 0; i < len(ps) && done < b.N; i += batchLen {
			n := min(batchLen, len(ps)-i, b.N-done)
			b.StopTimer()
			evs := bt.fill(ps[i:i+n], data.zips)
			b.StartTimer()
			cpu.start()
			if err := op.Process(ctx, evs, &out); err != nil {
				b.Fatal(err)
			}
			if err := op.Advance(ctx, evs[len(evs)-1].Time-int64(bound), &out); err != nil {
				b.Fatal(err)
			}
			cpu.stop()
			results += len(out.Events())
			out.Reset()
			done += n
		}
		b.StopTimer()
		if atEnd != nil {
			atEnd(op)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/cpu.total.Seconds(), "events/cpu-s")
	runtime.ReadMemStats(&ms)
	// Exact allocations per event (allocs/op is rounded down); it includes
	// the few of the harness itself, so it errs high.
	b.ReportMetric(float64(ms.Mallocs-mallocs)/float64(b.N), "allocs/event")
	return results
}

// cpuClock sums the process's CPU time (user + system, all threads: GC
// included) over the timed parts of a benchmark. On a shared, noisy
// machine events per CPU second is steadier than events per wall second.
type cpuClock struct {
	total, began time.Duration
}

func (c *cpuClock) start() { c.began = cputime.Process() }
func (c *cpuClock) stop()  { c.total += cputime.Process() - c.began }

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkCountWithin: 3 plays of a (customer, track) within 30 minutes,
// synthetic plays over 1M distinct keys, 3M plays per hour of event time.
// Run it with -benchtime 3000000x for one full hour. bytes/key is the heap
// the operator holds after the last play divided by its active keys.
func BenchmarkCountWithin(b *testing.B) {
	ps := syntheticPlays(cwEvents, cwKeys, 2*time.Hour)
	var before uint64
	var bytesPerKey, active float64
	results := runOps(b, func() stream.Operator {
		before = heapAlloc()
		return must(window.NewCountWithin(window.CountWithinConfig{Name: "repeats",
			KeyBy: []string{"customer_id", "track_id"}, Count: 3, Within: 30 * time.Minute, Dedup: "event_id"}))
	}, ps, time.Second, func(op stream.Operator) {
		active = float64(op.(*window.CountWithin).Stats().ActiveKeys)
		bytesPerKey = float64(heapAlloc()-before) / active
		runtime.KeepAlive(op)
	})
	b.ReportMetric(bytesPerKey, "bytes/key")
	b.ReportMetric(active, "active-keys")
	b.ReportMetric(float64(results), "matches")
}

// zipPlays: n plays over span in event-time order, each from one of zips
// zip codes drawn uniformly.
func zipPlays(n, zips int, span time.Duration) plays {
	r := rand.New(rand.NewPCG(7, 7))
	codes := make([]string, zips)
	for i := range codes {
		codes[i] = strconv.Itoa(10000 + i)
	}
	ps := make([]cplay, n)
	step := int64(span) / int64(n)
	for i := range ps {
		ps[i] = cplay{id: int64(i), cust: r.Int64N(100000), track: r.Int64N(1750), t: base + int64(i)*step, zip: int32(r.IntN(zips))}
	}
	return plays{ps: ps, zips: codes}
}

func tumblingZip() stream.Operator {
	return must(window.NewTumbling(window.TumblingConfig{Size: time.Hour,
		WindowConfig: window.WindowConfig{Name: "zip_hourly", KeyBy: []string{"listening_zip_code"}}}))
}

// BenchmarkTumblingZip: hourly play counts by zip code, 1M plays over one
// day from 2000 zip codes (about 48000 windows). Run with -benchtime
// 1000000x for the whole day.
func BenchmarkTumblingZip(b *testing.B) {
	windows := runOps(b, tumblingZip, zipPlays(1_000_000, 2000, 24*time.Hour), 0, nil)
	b.ReportMetric(float64(windows), "windows")
}

// BenchmarkTumblingZipDedup: the same with dedup on event_id (ids are
// remembered until the watermark passes them).
func BenchmarkTumblingZipDedup(b *testing.B) {
	windows := runOps(b, func() stream.Operator {
		return must(window.NewTumbling(window.TumblingConfig{Size: time.Hour, WindowConfig: window.WindowConfig{
			Name: "zip_hourly", KeyBy: []string{"listening_zip_code"}, Dedup: "event_id"}}))
	}, zipPlays(1_000_000, 2000, 24*time.Hour), 0, nil)
	b.ReportMetric(float64(windows), "windows")
}

// BenchmarkTumblingZipSparse: the same on the generator's 1M plays (about
// 12 days, 20000 customers, one zip each and 10% of plays from a random
// zip): nearly every play opens a window of its own, so this measures the
// cost of windows (open, fire, emit, purge) more than of events.
func BenchmarkTumblingZipSparse(b *testing.B) {
	d := gen.Generate(gen.Config{Seed: 1, Plays: 1_000_000, Customers: 20000})
	windows := runOps(b, tumblingZip, compact(d.Plays), 0, nil)
	b.ReportMetric(float64(windows), "windows")
}

// BenchmarkOrder: the Order operator on 1M generated plays.
func BenchmarkOrder(b *testing.B) {
	d := gen.Generate(gen.Config{Seed: 1, Plays: 1_000_000})
	runOps(b, func() stream.Operator { return must(window.NewOrder(window.OrderConfig{Dedup: "event_id"})) }, compact(d.Plays), 0, nil)
}

// BenchmarkCountWithinGen: the music-stream example's "repeats" window (3
// plays of a (customer, track) within 30 minutes, no dedup) on the plays
// that example generates for -events 1000000 (arrival up to 2 minutes out of
// order, watermark 5 minutes behind): nearly every key sees one play and
// expires. Run with -benchtime 1000000x.
func BenchmarkCountWithinGen(b *testing.B) {
	d := gen.Generate(gen.Config{Seed: 1, Plays: 1_000_000, Repeats: 5000, NearMisses: 1000,
		Duplicates: 0.01, MaxDelay: 2 * time.Minute})
	results := runOps(b, func() stream.Operator {
		return must(window.NewCountWithin(window.CountWithinConfig{Name: "repeats",
			KeyBy: []string{"customer_id", "track_id"}, Count: 3, Within: 30 * time.Minute}))
	}, compact(d.Plays), 5*time.Minute, nil)
	b.ReportMetric(float64(results), "matches")
}
