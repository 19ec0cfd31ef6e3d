package window_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// Helpers of the Absence and DistinctCounter tests (prefix ad).

// adOp is an operator of these tests: snapshots, a start, counters.
type adOp interface {
	stream.Operator
	stream.Snapshotter
	stream.Starter
	Stats() window.Stats
}

// adGeo is the schema of a record joined to some events.
var adGeo = stream.MustSchema("geo", stream.Field{Name: "country", Kind: stream.KindString})

// adJoins returns the joins of event id: some have a record, some a miss.
func adJoins(id int64) []stream.Join {
	switch id % 5 {
	case 0:
		return []stream.Join{{Name: "geo", Rec: &stream.Record{Schema: adGeo, Values: []stream.Value{stream.String(fmt.Sprintf("c%d", id%3))}}}}
	case 1:
		return []stream.Join{{Name: "geo"}}
	}
	return nil
}

// adArrival delivers events (some twice: a redelivery is the same record)
// with each delivery delayed by up to maxDelay of event time, in order of
// arrival.
func adArrival(r *rand.Rand, evs []stream.Event, dupShare float64, maxDelay time.Duration) []stream.Event {
	type del struct {
		at int64
		ev stream.Event
	}
	var ds []del
	for _, ev := range evs {
		ds = append(ds, del{ev.Time + r.Int64N(int64(maxDelay)+1), ev})
		if r.Float64() < dupShare {
			ds = append(ds, del{ev.Time + r.Int64N(int64(maxDelay)+1), ev})
		}
	}
	r.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
	slices.SortStableFunc(ds, func(a, b del) int { return cmp.Compare(a.at, b.at) })
	out := make([]stream.Event, len(ds))
	for i := range ds {
		out[i] = ds[i].ev
	}
	return out
}

// adLine prints all of a result: its window and the event it carries.
func adLine(ev stream.Event) string {
	w := ev.Window
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s key=%s [%d..%d] first=%d last=%d n=%d | t=%d key=%q pos=%s/%d/%d/%v",
		w.Name, w.Kind, w.Key, w.Start-base, w.End-base, w.First-base, w.Last-base, w.Count,
		ev.Time-base, ev.Key, ev.Pos.Source, ev.Pos.Partition, ev.Pos.Offset, ev.Pos.Line)
	if ev.Schema != nil {
		fmt.Fprintf(&b, " schema=%s", ev.Schema.Name())
	}
	fmt.Fprintf(&b, " fields=%v", ev.Fields)
	for _, j := range ev.Joins {
		fmt.Fprintf(&b, " join=%s", j.Name)
		if j.Rec != nil {
			fmt.Fprintf(&b, ":%s%v", j.Rec.Schema.Name(), j.Rec.Values)
		}
	}
	if w.Update || w.Aggs != nil || w.Steps != nil {
		b.WriteString(" extra window fields")
	}
	return b.String()
}

func adLines(evs []stream.Event) []string {
	ls := make([]string, 0, len(evs))
	for _, ev := range evs {
		ls = append(ls, adLine(ev))
	}
	return ls
}

// adRestarter wraps an operator and, every `every` calls, replaces it by a
// fresh instance started with the same environment and restored from its
// snapshot, as a restart would; it checks that the restored state
// snapshots to the same bytes.
type adRestarter struct {
	adOp
	t        *testing.T
	fresh    func() adOp
	env      *stream.Env
	every    int
	calls    int
	restarts int
}

func (r *adRestarter) Start(ctx context.Context, env stream.Env) error {
	r.env = &env
	return r.adOp.Start(ctx, env)
}

func (r *adRestarter) step() {
	r.calls++
	if r.calls%r.every != 0 {
		return
	}
	data, err := r.adOp.Snapshot()
	if err != nil {
		r.t.Error(err)
		return
	}
	n := r.fresh()
	if r.env != nil {
		if err := n.Start(context.Background(), *r.env); err != nil {
			r.t.Error(err)
			return
		}
	}
	if err := n.Restore(data); err != nil {
		r.t.Errorf("restore: %v", err)
		return
	}
	if again, _ := n.Snapshot(); !bytes.Equal(data, again) {
		r.t.Errorf("the restored state snapshots differently (%d vs %d bytes)", len(data), len(again))
	}
	r.adOp = n
	r.restarts++
}

func (r *adRestarter) Process(ctx context.Context, in []stream.Event, out *stream.Emitter) error {
	defer r.step()
	return r.adOp.Process(ctx, in, out)
}

func (r *adRestarter) Advance(ctx context.Context, wm int64, out *stream.Emitter) error {
	defer r.step()
	return r.adOp.Advance(ctx, wm, out)
}

// adPipeline runs arrival through a stream.Pipeline (watermark bound,
// allowed lateness, batches of batch events) whose operator restarts from
// its snapshot every `every` calls, and returns the results and late
// events.
func adPipeline(t *testing.T, fresh func() adOp, arrival []stream.Event, bound, lateness time.Duration, batch, every int) (res, late []stream.Event, rs *adRestarter) {
	t.Helper()
	rs = &adRestarter{adOp: fresh(), t: t, fresh: fresh, every: every}
	sink, lateSink := stream.NewCollectSink(), stream.NewCollectSink()
	p := stream.New("ad", stream.Config{OutOfOrderness: bound, AllowedLateness: lateness, IdleTimeout: -1}).
		From(stream.NewSliceSource("in", arrival, batch)).Via(rs).To(sink).Late(lateSink)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return sink.Events(), lateSink.Events(), rs
}

// adLog collects the records of a slog handler.
type adLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *adLog) add(s string) {
	l.mu.Lock()
	l.msgs = append(l.msgs, s)
	l.mu.Unlock()
}

func (l *adLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.msgs)
}
