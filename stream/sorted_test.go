package stream

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sortPlays returns n plays of random fields (every kind, nulls, strings
// of any length) at times advancing by up to 10s, delivered with delays up
// to maxDelay, some twice; partitions 0..parts-1.
func sortPlays(r *rand.Rand, n int, maxDelay time.Duration, parts int32) []Event {
	evs := make([]Event, 0, n)
	t := g2014
	for i := range n {
		t += r.Int64N(int64(10 * time.Second))
		v := func() Value {
			switch r.IntN(7) {
			case 0:
				return Null()
			case 1:
				return String(string(make([]byte, r.IntN(40))) + "é" + string(rune('a'+r.IntN(26))))
			case 2:
				return Float(r.Float64() * 1e6)
			case 3:
				return Bool(r.IntN(2) == 0)
			case 4:
				return TimeNanos(t - r.Int64N(1e12))
			default:
				return Int(r.Int64N(1<<40) - 1<<39)
			}
		}
		ev := Event{Key: string(rune('a' + r.IntN(26))), Time: t, Schema: testPlaySchema,
			Fields: []Value{Int(int64(i)), v(), v(), TimeNanos(t), v(), v()},
			Pos:    Position{Source: "in", Partition: r.Int32N(parts), Offset: int64(i + 1), Line: true}}
		evs = append(evs, ev)
		if r.IntN(50) == 0 {
			evs = append(evs, ev) // a re-delivery
		}
	}
	// Arrival: each event delayed by up to maxDelay.
	keys := make([]int64, len(evs))
	for i := range evs {
		keys[i] = evs[i].Time + r.Int64N(int64(maxDelay)+1)
	}
	idx := make([]int, len(evs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return int(keys[a] - keys[b]) })
	out := make([]Event, len(evs))
	for i, j := range idx {
		out[i] = evs[j]
	}
	return out
}

// drain reads a source to its end.
func drainSorted(t *testing.T, src Source) (events, late []Event, lateWM []int64, rejects []Reject) {
	t.Helper()
	for {
		b, err := src.Read(context.Background())
		if errors.Is(err, ErrEndOfInput) {
			return
		}
		require.NoError(t, err)
		events = append(events, b.Events...)
		late = append(late, b.Late...)
		lateWM = append(lateWM, b.LateWM...)
		rejects = append(rejects, b.Rejects...)
	}
}

func sameEvent(t *testing.T, want, got Event, msg string) {
	t.Helper()
	require.Equal(t, want.Key, got.Key, msg)
	require.Equal(t, want.Time, got.Time, msg)
	require.Equal(t, want.Pos, got.Pos, msg)
	require.Same(t, want.Schema, got.Schema, msg)
	require.Equal(t, len(want.Fields), len(got.Fields), msg)
	for i := range want.Fields {
		require.True(t, want.Fields[i].Equal(got.Fields[i]) && want.Fields[i].Kind() == got.Fields[i].Kind(), "%s: field %d %v != %v", msg, i, want.Fields[i], got.Fields[i])
	}
}

// The sorted output is the stable sort by time of the events the arrival
// order does not make late; the late ones are those a pipeline with the
// same settings finds late, with the same watermarks. In memory or spilled
// into many runs, the same.
func TestSortByTimeEqualsArrivalJudgedThenSorted(t *testing.T) {
	for seed := range uint64(6) {
		r := rand.New(rand.NewPCG(seed, 77))
		arrival := sortPlays(r, 3000, 3*time.Minute, 1)
		bound := time.Minute
		// The pipeline's own judgement of the arrival order.
		_, out, late, _ := runOnePerBatch(t, arrival, Config{OutOfOrderness: bound, MaxAhead: time.Hour})
		require.NotZero(t, late.Len(), "the delays make some events late")
		var want []Event
		want = append(want, out.Events()...)
		slices.SortStableFunc(want, func(a, b Event) int { return int(a.Time - b.Time) })
		for _, budget := range []int64{1 << 30, 4096} {
			src, err := SortByTime([]Source{NewSliceSource("in", arrival, 100)}, SortConfig{OutOfOrderness: bound, MaxAhead: time.Hour, Budget: budget, BatchSize: 77})
			require.NoError(t, err)
			got, gotLate, lateWM, _ := drainSorted(t, src)
			st := src.Stats()
			if budget < 1<<20 {
				require.Greater(t, st.Runs, 10, "a small budget spills")
				require.LessOrEqual(t, st.PeakBytes, budget+4096)
			} else {
				require.Zero(t, st.Runs)
			}
			require.Equal(t, int64(len(want)), st.Events)
			require.Equal(t, len(want), len(got))
			for i := range want {
				sameEvent(t, want[i], got[i], "sorted event")
			}
			require.Equal(t, late.Len(), len(gotLate), "late events")
			for i, ev := range late.Events() {
				sameEvent(t, ev, gotLate[i], "late event")
			}
			require.Len(t, lateWM, len(gotLate))
			require.NoError(t, src.Close(context.Background()))
		}
	}
}

// Through a pipeline: late events reach the late output, with their
// watermark, counted; the sorted ones flow with no out-of-orderness.
func TestSortedSourceThroughPipeline(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	arrival := sortPlays(r, 2000, 5*time.Minute, 3)
	_, wantOut, wantLate, _ := runOnePerBatch(t, arrival, Config{OutOfOrderness: time.Minute, MaxAhead: time.Hour})
	src, err := SortByTime([]Source{NewSliceSource("in", arrival, 64)}, SortConfig{OutOfOrderness: time.Minute, Budget: 8192})
	require.NoError(t, err)
	rec := &recorder{}
	out, late := NewCollectSink(), NewCollectSink()
	p := New("sorted", Config{OutOfOrderness: 0, MaxAhead: -1})
	p.From(src).Via(rec).To(out).Late(late)
	runPipeline(t, p)
	st := p.Stats()
	require.Zero(t, late.Len()-wantLate.Len())
	require.Equal(t, int64(wantLate.Len()), st.Late)
	require.Equal(t, int64(len(arrival)), st.EventsIn)
	require.Equal(t, wantOut.Len(), out.Len())
	require.True(t, slices.IsSortedFunc(out.Events(), func(a, b Event) int { return int(a.Time - b.Time) }))
	require.True(t, slices.IsSorted(rec.wms), "the watermark follows the sorted events")
}

// Several sources are read one after the other and merged; dead letters
// pass as they are read; the spill directory is gone at the end.
func TestSortByTimeSourcesRejectsCleanup(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(3, 3))
	a, b := sortPlays(r, 500, 0, 1), sortPlays(r, 500, 0, 1)
	for i := range b {
		b[i].Pos.Source = "other"
	}
	withReject := &rejecting{Source: NewSliceSource("a", a, 50)}
	src, err := SortByTime([]Source{withReject, NewSliceSource("b", b, 50)}, SortConfig{OutOfOrderness: 24 * time.Hour, Budget: 2048, Dir: dir})
	require.NoError(t, err)
	got, late, _, rejects := drainSorted(t, src)
	require.Empty(t, late)
	require.Len(t, rejects, 1)
	require.Equal(t, []byte("bad line"), rejects[0].Raw)
	require.Len(t, got, len(a)+len(b))
	require.True(t, slices.IsSortedFunc(got, func(x, y Event) int { return int(x.Time - y.Time) }))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "the runs are removed")
	require.NoError(t, src.Close(context.Background()))
}

type rejecting struct {
	Source
	done bool
}

func (r *rejecting) Read(ctx context.Context) (Batch, error) {
	b, err := r.Source.Read(ctx)
	if !r.done && err == nil {
		b.Rejects = append(b.Rejects, Reject{Pos: Position{Source: "a", Offset: 1, Line: true}, Reason: "bad", Raw: []byte("bad line")})
		r.done = true
	}
	return b, err
}

type acking struct{ Source }

func (a acking) Read(ctx context.Context) (Batch, error) {
	b, err := a.Source.Read(ctx)
	b.Ack = func(context.Context, error) error { return nil }
	return b, err
}

// A source that acknowledges batches (Kafka) is refused, as are events that
// carry joins; Close mid-way removes the runs.
func TestSortByTimeRefusals(t *testing.T) {
	evs := timedEvents([]int64{1, 2, 3})
	src, err := SortByTime([]Source{acking{NewSliceSource("k", evs, 1)}}, SortConfig{})
	require.NoError(t, err)
	_, err = src.Read(context.Background())
	require.ErrorContains(t, err, "acknowledges its batches")

	joined := timedEvents([]int64{1, 2})
	joined[1].SetJoin("customer", &Record{})
	src, err = SortByTime([]Source{NewSliceSource("j", joined, 1)}, SortConfig{})
	require.NoError(t, err)
	_, err = src.Read(context.Background())
	require.ErrorContains(t, err, "carries joins")

	dir := t.TempDir()
	r := rand.New(rand.NewPCG(4, 4))
	src, err = SortByTime([]Source{NewSliceSource("in", sortPlays(r, 400, 0, 1), 10)}, SortConfig{Budget: 1024, Dir: dir})
	require.NoError(t, err)
	b, err := src.Read(context.Background()) // reads everything, spills, returns the first sorted batch
	require.NoError(t, err)
	require.NotEmpty(t, b.Events)
	entries, _ := filepath.Glob(filepath.Join(dir, "*", "run-*"))
	require.NotEmpty(t, entries)
	require.NoError(t, src.Close(context.Background()))
	left, _ := os.ReadDir(dir)
	require.Empty(t, left)
}

// A cancelled Read returns at once, while reading and while merging.
func TestSortByTimeCancelled(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	src, err := SortByTime([]Source{NewSliceSource("in", sortPlays(r, 300, 0, 1), 10)}, SortConfig{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = src.Read(ctx)
	require.ErrorIs(t, err, context.Canceled)
	b, err := src.Read(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, b.Events)
	_, err = src.Read(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, src.Close(context.Background()))
}
