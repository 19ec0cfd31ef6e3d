package window_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// statser is an operator with counters.
type statser interface {
	stream.Operator
	Stats() window.Stats
}

// emitted is a result with the call that emitted it.
type emitted struct {
	ev       stream.Event
	early    bool // by Process, not Advance
	from, by int  // indexes in the input of the first and last events fed by the call
}

// completing names a result by its completing event: key, time and id
// (the first field of every test schema).
func completing(ev *stream.Event) string {
	return fmt.Sprintf("%s@%d#%d", ev.Window.Key, ev.Time-base, ev.Fields[0].Int())
}

// driver feeds an operator batches of events, advancing the watermark to
// the highest time seen minus bound after each, and keeps every result
// with the call that emitted it.
type driver struct {
	t         *testing.T
	op        stream.Operator
	bound     time.Duration
	wm, maxT  int64
	fed       int // events fed so far
	all       []stream.Event
	from      int // index of the first event of the last Process call
	res       []emitted
	out       stream.Emitter
	ctx       context.Context
	noAdvance bool
}

func newDriver(t *testing.T, op stream.Operator, bound time.Duration) *driver {
	return &driver{t: t, op: op, bound: bound, wm: stream.MinWatermark, maxT: stream.MinWatermark, ctx: context.Background()}
}

func (d *driver) collect(early bool) {
	for _, ev := range d.out.Events() {
		d.res = append(d.res, emitted{ev: ev, early: early, from: d.from, by: d.fed - 1})
	}
	if n := len(d.out.LateEvents()); n != 0 {
		d.t.Fatalf("%d late events within the bound", n)
	}
	d.out.Reset()
}

// feed processes evs in batches of batch events.
func (d *driver) feed(evs []stream.Event, batch int) {
	d.t.Helper()
	for i := 0; i < len(evs); i += batch {
		in := slices.Clone(evs[i:min(i+batch, len(evs))])
		for _, ev := range in {
			d.maxT = max(d.maxT, ev.Time)
		}
		if err := d.op.Process(d.ctx, in, &d.out); err != nil {
			d.t.Fatal(err)
		}
		d.from = d.fed
		d.fed += len(in)
		d.all = append(d.all, in...)
		d.collect(true)
		if w := d.maxT - int64(d.bound); w > d.wm {
			d.advance(w)
		}
	}
}

func (d *driver) advance(wm int64) {
	d.t.Helper()
	d.wm = wm
	if err := d.op.Advance(d.ctx, wm, &d.out); err != nil {
		d.t.Fatal(err)
	}
	d.collect(false)
}

// finish advances to the end and checks that no state is left.
func (d *driver) finish() []emitted {
	d.t.Helper()
	d.advance(stream.MaxWatermark)
	if st := d.op.(statser).Stats(); st.Pending != 0 || st.ActiveKeys != 0 {
		d.t.Fatalf("state left after the final watermark: %+v", st)
	}
	return d.res
}

// fedAll returns every event fed.
func (d *driver) fedAll() []stream.Event { return d.all }

// earlyDrive feeds evs in batches of batch events, advancing the
// watermark to the highest time seen minus bound after each batch, then to
// the end, and returns every result with the call that emitted it.
func earlyDrive(t *testing.T, op stream.Operator, evs []stream.Event, batch int, bound time.Duration) []emitted {
	t.Helper()
	d := newDriver(t, op, bound)
	d.feed(evs, batch)
	return d.finish()
}

// addStats sums the counters of an operator and the one restored from its
// snapshot (Restore starts its counters from the receiver's).
func addStats(a, b window.Stats) window.Stats {
	return window.Stats{Emitted: a.Emitted + b.Emitted, Early: a.Early + b.Early, Confirmed: a.Confirmed + b.Confirmed,
		Corrections: a.Corrections + b.Corrections}
}

func evsOf(es []emitted) []stream.Event {
	out := make([]stream.Event, len(es))
	for i, e := range es {
		out[i] = e.ev
	}
	return out
}

// checkEarly checks what every operator in Early mode promises against
// the event-time results of the same input (want, from the operator
// without Early): every event-time result's completing event has a result
// (early, or as a correction), no completing event has two, and the
// counters add up. inOrder, when not nil, is the input, in decision order:
// the early results are then the event-time results, each emitted by the
// Process call of its completing event, and the watermark emits nothing.
func checkEarly(t *testing.T, what string, got []emitted, want []stream.Event, st window.Stats, inOrder []stream.Event) {
	t.Helper()
	seen := map[string]bool{}
	var early int64
	for _, e := range got {
		id := completing(&e.ev)
		if seen[id] {
			t.Fatalf("%s: %s emitted twice", what, id)
		}
		seen[id] = true
		if e.early {
			early++
		}
	}
	for _, w := range want {
		if !seen[completing(&w)] {
			t.Fatalf("%s: event-time result %s was not emitted", what, completing(&w))
		}
	}
	if st.Early != early || st.Emitted != int64(len(got)) || st.Early+st.Corrections != st.Emitted ||
		st.Confirmed+st.Corrections != int64(len(want)) {
		t.Fatalf("%s: counters %+v: %d results (%d early), %d in event time", what, st, len(got), early, len(want))
	}
	if inOrder == nil {
		return
	}
	if st.Corrections != 0 || len(got) != len(want) {
		t.Fatalf("%s: in order: %d results, %d corrections; %d in event time", what, len(got), st.Corrections, len(want))
	}
	for _, e := range got {
		if !e.early {
			t.Fatalf("%s: in order, %s came at the watermark", what, completing(&e.ev))
		}
		if !slices.ContainsFunc(inOrder[e.from:e.by+1], func(ev stream.Event) bool {
			return ev.Time == e.ev.Time && ev.Fields[0] == e.ev.Fields[0]
		}) {
			t.Fatalf("%s: in order, %s came in the call of events %d to %d, which it is not one of", what, completing(&e.ev), e.from, e.by)
		}
	}
	gl, wl := earlyLines(evsOf(got)), earlyLines(want)
	slices.Sort(gl)
	slices.Sort(wl)
	diff(t, what+": early results in order", gl, wl)
}

// earlyLines describes results fully: window, completing event, steps;
// times in minutes from base.
func earlyLines(evs []stream.Event) []string {
	var ls []string
	for _, ev := range evs {
		w := ev.Window
		l := fmt.Sprintf("%s %s %s..%s n=%d first=%s last=%s by=%d", w.Kind, w.Key, mins(w.Start), mins(w.End), w.Count,
			mins(w.First), mins(w.Last), ev.Fields[0].Int())
		for _, s := range w.Steps {
			l += fmt.Sprintf(" [%s %d]", mins(s.Time), s.Fields[0].Int())
		}
		ls = append(ls, l)
	}
	return ls
}

// mins is t in minutes from base (with the nanoseconds if not whole).
func mins(t int64) string {
	d := time.Duration(t - base)
	if d%time.Minute == 0 {
		return fmt.Sprint(int64(d / time.Minute))
	}
	return d.String()
}

// decisionOrder sorts events as the operators decide them: time, then the
// id (the dedup field of the tests), then position.
func decisionOrder(evs []stream.Event) []stream.Event {
	evs = slices.Clone(evs)
	slices.SortStableFunc(evs, func(a, b stream.Event) int {
		return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.Fields[0].Int(), b.Fields[0].Int()))
	})
	return evs
}

// earlyOp is an operator with counters and snapshots.
type earlyOp interface {
	statser
	stream.Snapshotter
}

// earlyRun checks one input against the operator's event-time results
// (fresh(false) on the same input): arrival as given, in batches of batch,
// through fresh(true), and restarted from a snapshot after snapAt events
// when snapAt >= 0 (the snapshot restores into a fresh operator to the
// same bytes); then, when inOrder, the same events in decision order. It
// returns the counters of the run in arrival order.
func earlyRun(t *testing.T, what string, fresh func(early bool) earlyOp, evs []stream.Event, batch int, bound time.Duration, snapAt int, inOrder bool) window.Stats {
	t.Helper()
	want := evsOf(earlyDrive(t, fresh(false), evs, batch, bound))
	op := fresh(true)
	d := newDriver(t, op, bound)
	st := window.Stats{}
	if snapAt >= 0 {
		d.feed(evs[:snapAt], batch)
		snap := must(op.Snapshot())
		back := fresh(true)
		if err := back.Restore(snap); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if again := must(back.Snapshot()); !slices.Equal(again, snap) {
			t.Fatalf("%s: the restored operator's snapshot differs", what)
		}
		st, d.op, op, evs = op.Stats(), back, back, evs[snapAt:]
	}
	d.feed(evs, batch)
	got := d.finish()
	st = addStats(st, op.Stats())
	checkEarly(t, what, got, want, st, nil)
	if inOrder {
		sorted := decisionOrder(d.fedAll())
		op := fresh(true)
		checkEarly(t, what+" in order", earlyDrive(t, op, sorted, batch, bound), want, op.Stats(), sorted)
	}
	return st
}
