package stream

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recorder is an operator that passes events on and records watermarks.
type recorder struct {
	wms    []int64
	wmCh   chan int64
	procCh chan int
}

func (r *recorder) Process(_ context.Context, in []Event, out *Emitter) error {
	out.EmitAll(in)
	if r.procCh != nil {
		r.procCh <- len(in)
	}
	return nil
}

func (r *recorder) Advance(_ context.Context, wm int64, _ *Emitter) error {
	r.wms = append(r.wms, wm)
	if r.wmCh != nil {
		r.wmCh <- wm
	}
	return nil
}

func timedEvents(times []int64) []Event {
	evs := make([]Event, len(times))
	for i, ts := range times {
		evs[i] = Event{Key: "k", Time: ts, Schema: testPlaySchema, Fields: []Value{Int(int64(i))}, Pos: Position{Source: "mem", Partition: 0, Offset: int64(i)}}
	}
	return evs
}

// model is the specification of watermarks and lateness for one partition
// with one event per batch.
func model(arrival []Event, bound, allowed int64) (wms []int64, late map[int64]bool) {
	late = map[int64]bool{}
	wm, max := MinWatermark, MinWatermark
	for _, ev := range arrival {
		if wm != MinWatermark && ev.Time < wm-allowed {
			late[ev.Fields[0].Int()] = true
		}
		if ev.Time > max {
			max = ev.Time
		}
		if max-bound > wm {
			wm = max - bound
			wms = append(wms, wm)
		}
	}
	return append(wms, MaxWatermark), late
}

func shuffledArrival(r *rand.Rand, n int, maxDelay int64) []Event {
	times := make([]int64, n)
	t := int64(1_000_000_000_000)
	for i := range times {
		t += r.Int64N(int64(10 * time.Second))
		times[i] = t
	}
	evs := timedEvents(times)
	keys := make([]int64, n)
	for i := range evs {
		keys[i] = evs[i].Time + r.Int64N(maxDelay+1)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return int(keys[a] - keys[b]) })
	out := make([]Event, n)
	for i, j := range idx {
		out[i] = evs[j]
	}
	return out
}

func runOnePerBatch(t *testing.T, arrival []Event, cfg Config) (*recorder, *CollectSink, *CollectSink, Stats) {
	t.Helper()
	rec := &recorder{}
	out, late := NewCollectSink(), NewCollectSink()
	cfg.Clock = NewManualClock(time.Unix(0, 0))
	if cfg.MaxAhead == 0 {
		cfg.MaxAhead = -1 // the bounded-out-of-orderness rule alone (the outlier guard: watermark_guard_test.go)
	}
	p := New("wm", cfg)
	p.From(NewSliceSource("mem", arrival, 1)).Via(rec).To(out).Late(late)
	runPipeline(t, p)
	return rec, out, late, p.Stats()
}

func TestShuffledArrivalWithinBoundIsNeverLate(t *testing.T) {
	const bound = int64(time.Minute)
	var first []int64
	for seed := uint64(0); seed < 8; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		arrival := shuffledArrival(r, 400, bound)
		rec, out, late, st := runOnePerBatch(t, arrival, Config{OutOfOrderness: time.Minute})
		wantWM, wantLate := model(arrival, bound, 0)
		require.Empty(t, wantLate)
		require.Equal(t, 0, late.Len())
		require.Equal(t, int64(0), st.Late)
		require.Equal(t, wantWM, rec.wms, "watermark progress per the specification")
		require.True(t, slices.IsSorted(rec.wms), "watermarks never go back")
		var ids []int64
		for _, ev := range out.Events() {
			ids = append(ids, ev.Fields[0].Int())
		}
		slices.Sort(ids)
		if first == nil {
			first = ids
		}
		require.Equal(t, first, ids, "the same events whatever the arrival order")
	}
}

func TestEventsBeyondLatenessGoToLateOutput(t *testing.T) {
	for _, allowed := range []time.Duration{0, 20 * time.Second} {
		for seed := uint64(0); seed < 6; seed++ {
			r := rand.New(rand.NewPCG(seed, 11))
			// Delays up to 3 minutes against a 1 minute bound: some are late.
			arrival := shuffledArrival(r, 400, int64(3*time.Minute))
			rec, out, late, st := runOnePerBatch(t, arrival, Config{OutOfOrderness: time.Minute, AllowedLateness: allowed})
			wantWM, wantLate := model(arrival, int64(time.Minute), int64(allowed))
			require.NotEmpty(t, wantLate)
			require.Equal(t, wantWM, rec.wms)
			gotLate := map[int64]bool{}
			for _, ev := range late.Events() {
				gotLate[ev.Fields[0].Int()] = true
			}
			require.Equal(t, wantLate, gotLate, "exactly the events behind watermark-lateness are late")
			require.Equal(t, int64(len(wantLate)), st.Late)
			require.Equal(t, len(arrival), out.Len()+late.Len(), "every event goes somewhere, once")
		}
	}
}

func TestLatenessBoundary(t *testing.T) {
	s := int64(time.Second)
	// After the event at 100s the watermark is 90s (bound 10s); with 5s
	// allowed lateness an event at exactly 85s is on time, 85s-1ns is late.
	arrival := timedEvents([]int64{100 * s, 85 * s, 85*s - 1, 90 * s})
	_, out, late, _ := runOnePerBatch(t, arrival, Config{OutOfOrderness: 10 * time.Second, AllowedLateness: 5 * time.Second})
	require.Equal(t, 3, out.Len())
	require.Equal(t, 1, late.Len())
	require.Equal(t, 85*s-1, late.Events()[0].Time)
}

func TestIdlePartitionStopsHoldingWatermark(t *testing.T) {
	s := int64(time.Second)
	clock := NewManualClock(time.Unix(1000, 0))
	src := NewChanSource("two")
	rec := &recorder{wmCh: make(chan int64, 16), procCh: make(chan int, 16)}
	late := NewCollectSink()
	p := New("idle", Config{IdleTimeout: 10 * time.Second, TickInterval: time.Second, Clock: clock, MaxAhead: -1})
	p.From(src).Via(rec).To(Discard).Late(late)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	ev := func(part int32, ts int64) Batch {
		return Batch{Events: []Event{{Time: ts, Pos: Position{Source: "two", Partition: part}}}}
	}
	next := func() int64 {
		select {
		case wm := <-rec.wmCh:
			return wm
		case <-ctx.Done():
			t.Fatalf("no watermark; have %v, stats %+v", rec.wms, p.Stats())
			return 0
		}
	}
	// send hands a batch over and waits until the operators have seen it,
	// so that the processing time it is stamped with is known.
	send := func(b Batch) {
		src.C <- b
		select {
		case <-rec.procCh:
		case <-ctx.Done():
			t.Fatalf("batch %+v not processed; wms %v stats %+v", b, rec.wms, p.Stats())
		}
	}
	send(ev(1, 50*s))
	require.Equal(t, 50*s, next())
	send(ev(0, 100*s))
	send(ev(0, 200*s))
	// Partition 1 holds the watermark at 50s: a stall.
	clock.Advance(5 * time.Second)
	send(ev(0, 300*s)) // partition 0 seen at +5s
	clock.Advance(6 * time.Second)
	// +11s: partition 1 has been silent for 11s and is idle; partition 0
	// (6s) is not. The tick moves the watermark to partition 0's.
	require.Equal(t, 300*s, next())
	// Partition 1 comes back with an old event: it is late, and it holds
	// the watermark again (which never goes back).
	src.C <- ev(1, 60*s) // late: dropped before the operators
	send(ev(0, 400*s))
	send(ev(1, 350*s))
	require.Equal(t, 350*s, next())
	close(src.C)
	require.Equal(t, MaxWatermark, next())
	require.NoError(t, <-done)
	require.Equal(t, 1, late.Len())
	require.Equal(t, 60*s, late.Events()[0].Time)
	require.Equal(t, []int64{50 * s, 300 * s, 350 * s, MaxWatermark}, rec.wms)
}

func TestWatermarkTrackerAllIdleHolds(t *testing.T) {
	now := time.Unix(0, 0)
	w := NewWatermarkTracker(0, time.Second)
	w.Observe(PartitionID{0, 0}, 10, now)
	w.Observe(PartitionID{0, 1}, 20, now)
	require.Equal(t, int64(10), w.Update(now))
	require.Equal(t, int64(10), w.Update(now.Add(time.Hour)), "all partitions idle: the watermark holds")
	w.Observe(PartitionID{0, 1}, 30, now.Add(time.Hour))
	require.Equal(t, int64(30), w.Watermark(), "partition 0 idle, partition 1 active")
	w.Finish(0)
	w.AllDone()
	require.Equal(t, MaxWatermark, w.Update(now))
}

func TestWatermarkTrackerIncrementalMinimum(t *testing.T) {
	now := time.Unix(0, 0)
	r := rand.New(rand.NewPCG(3, 4))
	w := NewWatermarkTracker(5, 0)
	maxes := map[int32]int64{}
	cur := MinWatermark
	for i := 0; i < 5000; i++ {
		p := int32(r.IntN(7))
		ts := int64(r.IntN(100000))
		w.Observe(PartitionID{0, p}, ts, now)
		if ts > maxes[p] || maxes[p] == 0 {
			maxes[p] = max(maxes[p], ts)
		}
		min := int64(1 << 62)
		for _, m := range maxes {
			min = mink(min, m-5)
		}
		cur = max(cur, min)
		require.Equal(t, cur, w.Watermark(), "step %d", i)
	}
}

func mink(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

// revokingSource is a ChanSource whose partitions can be revoked.
type revokingSource struct {
	*ChanSource
	revoked chan int32
}

func (s *revokingSource) Revoked() <-chan int32 { return s.revoked }

func TestRevokedPartitionStopsHoldingWatermark(t *testing.T) {
	s := int64(time.Second)
	src := &revokingSource{ChanSource: NewChanSource("rv"), revoked: make(chan int32, 1)}
	rec := &recorder{wmCh: make(chan int64, 16), procCh: make(chan int, 16)}
	p := New("revoke", Config{IdleTimeout: -1, Clock: NewManualClock(time.Unix(0, 0)), MaxAhead: -1})
	p.From(src).Via(rec).To(Discard)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	ev := func(part int32, ts int64) Batch {
		return Batch{Events: []Event{{Time: ts, Pos: Position{Source: "rv", Partition: part}}}}
	}
	src.C <- ev(1, 50*s)
	<-rec.procCh
	require.Equal(t, 50*s, <-rec.wmCh)
	src.C <- ev(0, 100*s)
	<-rec.procCh
	src.revoked <- 1 // partition 1 moves to another consumer
	src.C <- ev(0, 200*s)
	<-rec.procCh
	// The revocation may land before or after that batch: the watermark
	// passes 100s (partition 0 alone) or goes straight to 200s.
	for wm := <-rec.wmCh; wm != 200*s; wm = <-rec.wmCh {
		require.Equal(t, 100*s, wm, "the revoked partition no longer holds the watermark")
	}
	close(src.C)
	require.Equal(t, MaxWatermark, <-rec.wmCh)
	require.NoError(t, <-done)
}

// An expected partition holds the watermark until it produces, idles or
// finishes: a source read later than the others does not find its events
// late.
func TestExpectedPartitionHoldsWatermark(t *testing.T) {
	now := time.Unix(1000, 0)
	w := NewWatermarkTracker(time.Minute, 10*time.Second)
	a, b := PartitionID{Source: 0, Partition: -1}, PartitionID{Source: 1, Partition: -1}
	w.Expect(a, now)
	w.Expect(b, now)
	w.Observe(a, int64(time.Hour), now)
	require.Equal(t, MinWatermark, w.Watermark(), "b has not produced yet")
	w.Observe(b, int64(30*time.Minute), now)
	require.Equal(t, int64(29*time.Minute), w.Watermark())
	w.Finish(1)
	require.Equal(t, int64(59*time.Minute), w.Watermark())

	w = NewWatermarkTracker(time.Minute, 10*time.Second)
	w.Expect(a, now)
	w.Expect(b, now)
	w.Observe(a, int64(time.Hour), now.Add(5*time.Second))
	require.Equal(t, MinWatermark, w.Update(now.Add(9*time.Second)))
	require.Equal(t, int64(59*time.Minute), w.Update(now.Add(10*time.Second)), "b idle since the start")
}
