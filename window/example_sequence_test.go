package window_test

import (
	"context"
	"fmt"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// A failed payment then a purchase by the same user within 10 minutes.
// User 1's purchase comes exactly 10 minutes after the second failure (the
// first is too old by then); user 2's comes 10m1s after the failure and does
// not match.
func ExampleNewSequence() {
	shop := stream.MustSchema("shop",
		stream.Field{Name: "event_id", Kind: stream.KindInt},
		stream.Field{Name: "user", Kind: stream.KindInt},
		stream.Field{Name: "type", Kind: stream.KindString},
	)
	is := func(typ string) window.Predicate {
		return func(ev *stream.Event) (bool, error) { return ev.Get("type").Str() == typ, nil }
	}
	seq, err := window.NewSequence(window.SequenceConfig{
		PatternConfig: window.PatternConfig{Name: "fail_then_buy", KeyBy: []string{"user"},
			Within: 10 * time.Minute, Dedup: "event_id"},
		Steps: []window.Predicate{is("payment_failed"), is("purchase")},
	})
	if err != nil {
		panic(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var evs []stream.Event
	add := func(id, user int64, typ string, after time.Duration) {
		evs = append(evs, stream.Event{Time: t0.Add(after).UnixNano(), Schema: shop,
			Fields: []stream.Value{stream.Int(id), stream.Int(user), stream.String(typ)}})
	}
	add(1, 1, "payment_failed", 0)
	add(2, 1, "view", time.Minute)
	add(3, 1, "payment_failed", 5*time.Minute)
	add(4, 2, "payment_failed", 5*time.Minute)
	add(5, 1, "purchase", 15*time.Minute)
	add(5, 1, "purchase", 15*time.Minute) // a duplicate delivery
	add(6, 2, "purchase", 15*time.Minute+time.Second)

	ctx := context.Background()
	var out stream.Emitter
	_ = seq.Process(ctx, evs, &out)
	_ = seq.Advance(ctx, stream.MaxWatermark, &out) // end of input: decide everything
	for _, ev := range out.Events() {
		w := ev.Window
		fmt.Printf("%s user=%s first=%s last=%s span=%v\n", w.Name, w.Key,
			time.Unix(0, w.First).UTC().Format("15:04"), time.Unix(0, w.Last).UTC().Format("15:04"), w.Span())
		for i, st := range w.Steps {
			fmt.Printf("  step %d: event %d (%s)\n", i, st.Fields[0].Int(), st.Fields[2].Str())
		}
	}
	fmt.Printf("%+v\n", seq.Stats())
	// Output:
	// fail_then_buy user=1 first=12:05 last=12:15 span=10m0s
	//   step 0: event 3 (payment_failed)
	//   step 1: event 5 (purchase)
	// {Late:0 Duplicates:1 Evictions:0 Expired:1 ActiveKeys:0 Pending:0 Emitted:1 Rejected:0 Errors:0 Early:0 Confirmed:0 Corrections:0}
}
