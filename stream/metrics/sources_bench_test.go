package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/metrics"
)

// ringSource hands out batches of a fixed ring of events, left events in
// all, each lap later in event time so that nothing is late. A half of
// the ring is rewritten as it is entered: the batches still in flight (a
// few Buffers' worth) are in the other half.
type ringSource struct {
	events      []stream.Event
	batch, next int
	left, laps  int
	span        int64
}

// newRing returns a ring of 64 batches of batch events over parts
// partitions: each batch one partition (run 0) or the partitions changing
// every run events.
func newRing(batch, parts, run, n int) *ringSource {
	evs := make([]stream.Event, 64*batch)
	t := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := range evs {
		p := (i / batch) % parts
		if run > 0 {
			p = (i / run) % parts
		}
		evs[i] = stream.Event{Key: "k", Time: t + int64(i)*int64(time.Millisecond),
			Pos: stream.Position{Source: "bench", Partition: int32(p), Offset: int64(i)}}
	}
	return &ringSource{events: evs, batch: batch, left: n, span: int64(len(evs)) * int64(time.Millisecond)}
}

func (r *ringSource) Name() string { return "bench" }

func (r *ringSource) Read(context.Context) (stream.Batch, error) {
	if r.left <= 0 {
		return stream.Batch{}, stream.ErrEndOfInput
	}
	if r.next == len(r.events) {
		r.next = 0
		r.laps++
	}
	half := len(r.events) / 2
	if r.laps > 0 && (r.next == 0 || r.next == half) {
		for i := r.next; i < r.next+half; i++ {
			r.events[i].Time += r.span
		}
	}
	n := min(r.batch, r.left)
	evs := r.events[r.next : r.next+n : r.next+n]
	r.next += r.batch
	r.left -= n
	return stream.Batch{Events: evs}, nil
}

func (r *ringSource) Close(context.Context) error { return nil }

// pass runs n more events of ring through a pipeline with no operator
// into Discard, counting the sources or not, and returns the time it took.
func pass(b *testing.B, ring *ringSource, n int, count bool) time.Duration {
	ring.left = n
	p := stream.New("bench", stream.Config{OutOfOrderness: time.Hour, CountSources: count, IdleTimeout: -1})
	p.From(ring).To(stream.Discard)
	start := time.Now()
	if err := p.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	if got := p.Stats().EventsOut; got != int64(n) {
		b.Fatalf("%d events out of %d", got, n)
	}
	if count {
		var total int64
		for _, st := range p.SourceStats() {
			total += st.Events
		}
		if total != int64(n) {
			b.Fatalf("%d events counted of %d", total, n)
		}
	}
	return d
}

// BenchmarkCountSources measures what stream.Config.CountSources adds to
// the runner's hot path (a counter per run of one partition's events in a
// batch): the same pass-through run with and without it, in chunks of
// 2^18 events alternating between the two, so that both see the same
// machine. One op is one event through each (B/op and allocs/op: both
// runs' together, the pipelines' set-up included). Reported: ns/event of each
// and their ratio (on/off). Shapes: every batch of 1024 events from one of
// 4 partitions (a glob's files), and batches whose partition changes every
// 16 events (a worst case for a consumer's mixed fetches).
func BenchmarkCountSources(b *testing.B) {
	for _, shape := range []struct {
		name       string
		parts, run int
	}{{"batch-per-partition", 4, 0}, {"runs-of-16", 4, 16}} {
		b.Run(shape.name, func(b *testing.B) {
			const chunk = 1 << 18
			b.ReportAllocs()
			rings := [2]*ringSource{newRing(1024, shape.parts, shape.run, 0), newRing(1024, shape.parts, shape.run, 0)}
			b.ResetTimer()
			var off, on time.Duration
			for left := b.N; left > 0; left -= chunk {
				n := min(left, chunk)
				off += pass(b, rings[0], n, false)
				on += pass(b, rings[1], n, true)
			}
			b.ReportMetric(float64(off.Nanoseconds())/float64(b.N), "ns/event-off")
			b.ReportMetric(float64(on.Nanoseconds())/float64(b.N), "ns/event-on")
			b.ReportMetric(float64(on)/float64(off), "ratio")
		})
	}
}

// BenchmarkSourceMonitorObserve measures one sample of 1,000 sources, in
// the steady state (a Span and Recent of samples kept), with a stats
// function that copies the counts as Pipeline.SourceStats does.
func BenchmarkSourceMonitorObserve(b *testing.B) {
	const n = 1000
	src := make([]stream.SourceStat, n)
	for i := range src {
		src[i] = stream.SourceStat{Name: fmt.Sprintf("/data/host%04d.csv", i)}
	}
	stats := func() []stream.SourceStat { return append([]stream.SourceStat(nil), src...) }
	m, err := metrics.NewSourceMonitor(stats, metrics.SourceConfig{Span: 5 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	every := m.Config().Every
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	step := func() {
		now = now.Add(every)
		for i := range src {
			src[i].Events += 150
		}
		m.Observe(ctx, now)
	}
	for range 200 { // past Span + Recent: the sample windows are full
		step()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		step()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/source")
	if st := m.Status(); st[0].State != metrics.SourceOK {
		b.Fatalf("%+v", st[0])
	}
}
