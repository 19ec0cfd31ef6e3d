package window_test

import (
	"context"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

func playsAt(cust, track int64, ds ...time.Duration) []stream.Event {
	ps := make([]gen.Play, len(ds))
	for i, d := range ds {
		ps[i] = gen.Play{EventID: cust*1000 + track*100 + int64(i), CustomerID: cust, TrackID: track, Time: at(d), Zip: "10001"}
	}
	return gen.PlayEvents("b", ps)
}

func run(t *testing.T, op stream.Operator, evs []stream.Event, wm int64) []stream.Event {
	t.Helper()
	var out stream.Emitter
	ctx := context.Background()
	if err := op.Process(ctx, evs, &out); err != nil {
		t.Fatal(err)
	}
	if err := op.Advance(ctx, wm, &out); err != nil {
		t.Fatal(err)
	}
	return out.Events()
}

func TestCountWithinSpanBoundary(t *testing.T) {
	for _, tc := range []struct {
		last time.Duration
		want int
	}{
		{30 * time.Minute, 1},                 // exactly T: fires
		{30*time.Minute + time.Second, 0},     // T + 1s: does not
		{30*time.Minute - time.Nanosecond, 1}, // just inside
	} {
		op := must(window.NewCountWithin(cwCfg(false)))
		res := run(t, op, playsAt(1, 2, 0, 10*time.Minute, tc.last), stream.MaxWatermark)
		if len(res) != tc.want {
			t.Fatalf("span %v: %d matches, want %d", tc.last, len(res), tc.want)
		}
		if tc.want == 1 {
			w := res[0].Window
			if w.Span() != tc.last || w.Start != at(0).UnixNano() || w.End != at(tc.last).UnixNano() || w.Key != "1|2" {
				t.Fatalf("span %v: bad result %+v", tc.last, w)
			}
			if res[0].Schema != gen.PlaySchema || res[0].Get("event_id").Int() != 1202 || res[0].Key != "1" {
				t.Fatalf("the result must be a copy of the completing event, got %+v", res[0])
			}
		}
	}
}

// A match consumes its events by default; with AllowOverlap the fourth
// play matches again with the second and third.
func TestCountWithinSkipPastLast(t *testing.T) {
	evs := playsAt(1, 2, 0, time.Minute, 2*time.Minute, 3*time.Minute)
	if n := len(run(t, must(window.NewCountWithin(cwCfg(false))), evs, stream.MaxWatermark)); n != 1 {
		t.Fatalf("skip-past-last: %d matches, want 1", n)
	}
	if n := len(run(t, must(window.NewCountWithin(cwCfg(true))), evs, stream.MaxWatermark)); n != 2 {
		t.Fatalf("overlap: %d matches, want 2", n)
	}
}

// Decisions wait for the watermark: a match is not emitted before the
// watermark passes the completing event.
func TestCountWithinWaitsForWatermark(t *testing.T) {
	op := must(window.NewCountWithin(cwCfg(false)))
	evs := playsAt(1, 2, 0, time.Minute, 2*time.Minute)
	if res := run(t, op, evs, at(2*time.Minute).UnixNano()); len(res) != 0 {
		t.Fatalf("fired at watermark = event time: %v", res)
	}
	if res := run(t, op, nil, at(2*time.Minute).UnixNano()+1); len(res) != 1 {
		t.Fatalf("watermark past the event: %d matches, want 1", len(res))
	}
}

func TestTumblingEventAtWindowEnd(t *testing.T) {
	op := must(window.NewTumbling(window.TumblingConfig{WindowConfig: winCfg(), Size: time.Hour}))
	evs := playsAt(1, 2, 0, 59*time.Minute, time.Hour) // the last one is exactly at the end
	if res := run(t, op, evs, at(time.Hour).UnixNano()-1); len(res) != 0 {
		t.Fatalf("fired before the watermark reached the end: %v", res)
	}
	res := run(t, op, nil, at(time.Hour).UnixNano())
	if len(res) != 1 || res[0].Window.Count != 2 || res[0].Window.End != at(time.Hour).UnixNano() {
		t.Fatalf("want one window of 2 events ending at 13:00, got %+v", res)
	}
	if res[0].Time != res[0].Window.End-1 || res[0].Window.Kind != window.KindTumbling || res[0].Key != "1" {
		t.Fatalf("result event: %+v", res[0])
	}
	res = run(t, op, nil, stream.MaxWatermark)
	if len(res) != 1 || res[0].Window.Start != at(time.Hour).UnixNano() || res[0].Window.Count != 1 {
		t.Fatalf("the event at the end belongs to the next window, got %+v", res)
	}
}

// An event exactly at watermark − lateness still counts and re-fires its
// window with Update set; one nanosecond earlier it is late.
func TestLatenessBoundary(t *testing.T) {
	cfg := winCfg()
	cfg.AllowedLateness = 10 * time.Minute
	op := must(window.NewTumbling(window.TumblingConfig{WindowConfig: cfg, Size: time.Hour}))
	wm := at(65 * time.Minute).UnixNano()
	if res := run(t, op, playsAt(1, 2, 30*time.Minute), wm); len(res) != 1 || res[0].Window.Update {
		t.Fatalf("first firing: %+v", res)
	}
	onTime := playsAt(1, 3, 55*time.Minute) // exactly wm - lateness
	late := playsAt(1, 4, 55*time.Minute)
	late[0].Time--
	res := run(t, op, append(onTime, late...), wm)
	if len(res) != 1 || !res[0].Window.Update || res[0].Window.Count != 2 || res[0].Window.Last != onTime[0].Time {
		t.Fatalf("want one update with 2 events, got %+v", res)
	}
	if st := op.Stats(); st.Late != 1 {
		t.Fatalf("late = %d, want 1", st.Late)
	}
	// Once the watermark passes end + lateness the window and key are gone.
	res = run(t, op, nil, at(70*time.Minute).UnixNano())
	if st := op.Stats(); len(res) != 0 || st.ActiveKeys != 0 || st.Expired != 1 {
		t.Fatalf("after end+lateness: results %v, stats %+v", res, st)
	}
}

func TestCountWithinLatenessBoundary(t *testing.T) {
	cfg := cwCfg(false)
	cfg.AllowedLateness = 5 * time.Minute
	op := must(window.NewCountWithin(cfg))
	wm := at(20 * time.Minute).UnixNano()
	run(t, op, nil, wm)
	evs := playsAt(1, 2, 15*time.Minute, 16*time.Minute, 17*time.Minute)
	evs[0].Time = wm - int64(5*time.Minute) // exactly at the cutoff: counts
	early := playsAt(1, 2, 15*time.Minute)
	early[0].Time--
	early[0].Fields[0] = stream.Int(99)
	res := run(t, op, append(evs, early...), stream.MaxWatermark)
	if st := op.Stats(); st.Late != 1 || len(res) != 1 || res[0].Window.First != evs[0].Time {
		t.Fatalf("results %+v, stats %+v", res, st)
	}
}

// Times so far out that window arithmetic could overflow go to the dead
// letter, counted, instead of producing nonsense.
func TestEventTimeOutOfRange(t *testing.T) {
	for _, op := range []interface {
		stream.Operator
		Stats() window.Stats
	}{
		must(window.NewCountWithin(cwCfg(false))),
		must(window.NewTumbling(window.TumblingConfig{WindowConfig: winCfg(), Size: time.Hour})),
		must(window.NewSessions(window.SessionConfig{WindowConfig: winCfg(), Gap: time.Hour})),
	} {
		evs := playsAt(1, 1, 0, 0, 0)
		evs[0].Time, evs[1].Time = stream.MaxWatermark, stream.MinWatermark
		evs[2].Time = window.MaxEventTime
		if res := run(t, op, evs, stream.MaxWatermark); len(res) != 0 || op.Stats().Rejected != 3 {
			t.Fatalf("%T: results %v, stats %+v", op, res, op.Stats())
		}
	}
}
