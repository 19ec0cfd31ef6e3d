package window_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// play is one random input event; dups share id, time and fields.
type play struct {
	id, cust, track int64
	t               int64
}

var base = time.Date(2014, 10, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// randomPlays returns distinct plays on few keys and a coarse clock, so that
// ties and near-boundary spans are frequent.
func randomPlays(r *rand.Rand, n int, span time.Duration) []play {
	ps := make([]play, n)
	for i := range ps {
		ps[i] = play{id: int64(i), cust: r.Int64N(3), track: r.Int64N(3),
			t: base + r.Int64N(int64(span)/int64(time.Minute))*int64(time.Minute)}
	}
	return ps
}

func (p play) event(offset int64) stream.Event {
	return stream.Event{
		Key: fmt.Sprint(p.cust), Time: p.t, Schema: gen.PlaySchema,
		Pos: stream.Position{Source: "t", Partition: 0, Offset: offset},
		Fields: []stream.Value{stream.Int(p.id), stream.Int(p.cust), stream.Int(p.track),
			stream.TimeNanos(p.t), stream.Bool(false), stream.String(fmt.Sprintf("z%d", p.cust))},
	}
}

// arrival delivers the plays (some twice) with each delivery delayed by up
// to maxDelay of event time, like gen.Config.MaxDelay.
func arrival(r *rand.Rand, ps []play, dupShare float64, maxDelay time.Duration) []stream.Event {
	type del struct {
		key int64
		ev  stream.Event
	}
	var ds []del
	off := int64(0)
	deliver := func(p play) {
		off++
		ds = append(ds, del{p.t + r.Int64N(int64(maxDelay)+1), p.event(off)})
	}
	for _, p := range ps {
		deliver(p)
		if r.Float64() < dupShare {
			deliver(p)
		}
	}
	r.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
	slices.SortStableFunc(ds, func(a, b del) int { return cmp.Compare(a.key, b.key) })
	evs := make([]stream.Event, len(ds))
	for i := range ds {
		evs[i] = ds[i].ev
	}
	return evs
}

// drive feeds events in random batches, advancing the watermark to the
// highest time seen minus bound after each batch, as the runner does.
func drive(t *testing.T, r *rand.Rand, op stream.Operator, evs []stream.Event, bound time.Duration) (res []stream.Event, st window.Stats) {
	t.Helper()
	ctx := context.Background()
	var out stream.Emitter
	wm, maxT := stream.MinWatermark, stream.MinWatermark
	collect := func() {
		res = append(res, out.Events()...)
		out.Reset()
	}
	for len(evs) > 0 {
		n := min(1+r.IntN(8), len(evs))
		batch := append([]stream.Event(nil), evs[:n]...)
		evs = evs[n:]
		for _, ev := range batch {
			maxT = max(maxT, ev.Time)
		}
		if err := op.Process(ctx, batch, &out); err != nil {
			t.Fatal(err)
		}
		if w := maxT - int64(bound); w > wm {
			wm = w
			if err := op.Advance(ctx, wm, &out); err != nil {
				t.Fatal(err)
			}
		}
		collect()
	}
	if err := op.Advance(ctx, stream.MaxWatermark, &out); err != nil {
		t.Fatal(err)
	}
	collect()
	if s, ok := op.(interface{ Stats() window.Stats }); ok {
		st = s.Stats()
	}
	if st.Pending != 0 || st.ActiveKeys != 0 {
		t.Fatalf("state left after the final watermark: %+v", st)
	}
	return res, st
}

func dedupPlays(ps []play) []play {
	out := slices.Clone(ps)
	slices.SortFunc(out, func(a, b play) int { return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.id, b.id)) })
	return out
}

func windowLine(w *stream.WindowInfo) string {
	return fmt.Sprintf("%s %d..%d n=%d first=%d last=%d aggs=%v upd=%v", w.Key, w.Start-base, w.End-base, w.Count, w.First-base, w.Last-base, w.Aggs, w.Update)
}

func lines(evs []stream.Event, withEventID bool) []string {
	var ls []string
	for _, ev := range evs {
		l := windowLine(ev.Window)
		if withEventID {
			l += fmt.Sprintf(" by=%d", ev.Get("event_id").Int())
		}
		ls = append(ls, l)
	}
	return ls
}
