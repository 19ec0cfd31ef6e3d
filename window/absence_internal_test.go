package window

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// Cancelled starts do not pile up behind a pending one: the queue is
// compacted once they outnumber the pending starts, and the restored
// chains still work.
func TestAbsenceCancelledStartsCompacted(t *testing.T) {
	schema := stream.MustSchema("shop", stream.Field{Name: "user", Kind: stream.KindInt}, stream.Field{Name: "kind", Kind: stream.KindInt})
	is := func(k int64) Predicate {
		return func(ev *stream.Event) (bool, error) { return ev.Fields[1].Int() == k, nil }
	}
	a, err := NewAbsence(AbsenceConfig{PatternConfig: PatternConfig{Name: "a", KeyBy: []string{"user"}, Within: 24 * time.Hour},
		Start: is(1), End: is(2)})
	if err != nil {
		t.Fatal(err)
	}
	ev := func(user, kind int64, at time.Duration) stream.Event {
		return stream.Event{Time: int64(at), Schema: schema, Fields: []stream.Value{stream.Int(user), stream.Int(kind)}}
	}
	ctx := context.Background()
	var out stream.Emitter
	maxLen := uint64(0)
	for round := range 50 {
		at := time.Duration(round) * time.Minute
		var in []stream.Event
		for u := range 1000 {
			in = append(in, ev(int64(u), 1, at), ev(int64(u), 2, at+time.Second))
		}
		in = append(in, ev(int64(5000+round%7), 1, at)) // pending: 7 keys, several starts each
		_ = a.Process(ctx, in, &out)
		_ = a.Advance(ctx, int64(at+2*time.Second), &out)
		maxLen = max(maxLen, a.recs.len())
		if a.alive != round+1 {
			t.Fatalf("round %d: %d pending starts", round, a.alive)
		}
	}
	if maxLen > 2*absCompactMin+1000 {
		t.Fatalf("the queue grew to %d records for 50 pending starts", maxLen)
	}
	_ = a.Advance(ctx, stream.MaxWatermark, &out)
	if got := len(out.Events()); got != 50 {
		t.Fatalf("%d results, want 50", got)
	}
	for i, ev := range out.Events() {
		if ev.Window.Start != int64(time.Duration(i)*time.Minute) || ev.Fields[0].Int() != int64(5000+i%7) {
			t.Fatalf("result %d: %+v %v", i, ev.Window, ev.Fields)
		}
	}
}

// The packing's tables of schemas and sources are forgotten when no
// pending start refers to them, so sources seen once do not pile up.
func TestAbsenceCodecTablesForgotten(t *testing.T) {
	schema := stream.MustSchema("shop", stream.Field{Name: "user", Kind: stream.KindInt})
	yes := func(*stream.Event) (bool, error) { return true, nil }
	no := func(*stream.Event) (bool, error) { return false, nil }
	a, err := NewAbsence(AbsenceConfig{PatternConfig: PatternConfig{Name: "a", KeyBy: []string{"user"}, Within: time.Minute},
		Start: yes, End: no})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out stream.Emitter
	for round := range 3 {
		var in []stream.Event
		for i := range 100 {
			in = append(in, stream.Event{Time: int64(round) * int64(time.Hour), Schema: schema, Fields: []stream.Value{stream.Int(int64(i))},
				Pos: stream.Position{Source: fmt.Sprintf("file-%d-%d", round, i)}})
		}
		_ = a.Process(ctx, in, &out)
		_ = a.Advance(ctx, int64(round)*int64(time.Hour)+int64(time.Minute)+1, &out)
		if n := len(a.codec.sources); n > 64 {
			t.Fatalf("round %d: %d sources remembered", round, n)
		}
	}
	if got := len(out.Events()); got != 300 || out.Events()[299].Pos.Source != "file-2-99" {
		t.Fatalf("%d results, the last %+v", got, out.Events()[got-1])
	}
}
