package window_test

import (
	"context"
	"fmt"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

var abShopSchema = stream.MustSchema("shop", stream.Field{Name: "event_id", Kind: stream.KindInt},
	stream.Field{Name: "user", Kind: stream.KindString}, stream.Field{Name: "kind", Kind: stream.KindString})

func abShopEvent(id int64, user, kind string, at time.Time) stream.Event {
	return stream.Event{Key: user, Time: at.UnixNano(), Schema: abShopSchema,
		Fields: []stream.Value{stream.Int(id), stream.String(user), stream.String(kind)}}
}

// Carts with no purchase by the same user within 30 minutes. Ann's
// purchase comes exactly 30 minutes after her cart: it counts. Bob buys 31
// minutes after his cart: too late, the cart is abandoned; the result is
// his cart event, at its deadline.
func ExampleNewAbsence() {
	is := func(kind string) window.Predicate {
		return func(ev *stream.Event) (bool, error) { return ev.Get("kind").Str() == kind, nil }
	}
	abandoned, err := window.NewAbsence(window.AbsenceConfig{
		PatternConfig: window.PatternConfig{Name: "abandoned_cart", KeyBy: []string{"user"},
			Within: 30 * time.Minute, Dedup: "event_id"},
		Start: is("cart"), End: is("purchase"),
	})
	if err != nil {
		panic(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	var out stream.Emitter
	_ = abandoned.Process(ctx, []stream.Event{
		abShopEvent(1, "ann", "cart", t0),
		abShopEvent(2, "bob", "cart", t0.Add(time.Minute)),
		abShopEvent(3, "ann", "purchase", t0.Add(30*time.Minute)),
		abShopEvent(4, "bob", "purchase", t0.Add(32*time.Minute)),
	}, &out)
	_ = abandoned.Advance(ctx, t0.Add(31*time.Minute).UnixNano(), &out) // Bob's deadline (12:31) not passed yet
	fmt.Println("results at 12:31:", len(out.Events()))
	_ = abandoned.Advance(ctx, stream.MaxWatermark, &out) // end of input
	for _, ev := range out.Events() {
		w := ev.Window
		fmt.Printf("%s user=%s cart at %s, no purchase by %s (event %d)\n", w.Name, w.Key,
			time.Unix(0, w.Start).UTC().Format(time.TimeOnly), ev.EventTime().Format(time.TimeOnly), ev.Get("event_id").Int())
	}
	// Output:
	// results at 12:31: 0
	// abandoned_cart user=bob cart at 12:01:00, no purchase by 12:31:00 (event 2)
}

// Three distinct tracks played by a customer within 10 minutes. Replays of
// a track count once; the third distinct track completes the match, and
// the window starts at the earliest of the counted tracks' last plays.
func ExampleNewDistinctCount() {
	hopper, err := window.NewDistinctCount(window.DistinctCountConfig{
		PatternConfig: window.PatternConfig{Name: "track_hopper", KeyBy: []string{"customer_id"},
			Within: 10 * time.Minute, Dedup: "event_id"},
		Field: "track_id", Count: 3,
	})
	if err != nil {
		panic(err)
	}
	schema := stream.MustSchema("play", stream.Field{Name: "event_id", Kind: stream.KindInt},
		stream.Field{Name: "customer_id", Kind: stream.KindInt}, stream.Field{Name: "track_id", Kind: stream.KindInt})
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	play := func(id, track int64, min int) stream.Event {
		return stream.Event{Time: t0.Add(time.Duration(min) * time.Minute).UnixNano(), Schema: schema,
			Fields: []stream.Value{stream.Int(id), stream.Int(42), stream.Int(track)}}
	}
	ctx := context.Background()
	var out stream.Emitter
	_ = hopper.Process(ctx, []stream.Event{play(1, 7, 0), play(2, 8, 2), play(3, 7, 4), play(4, 7, 5), play(5, 9, 11)}, &out)
	_ = hopper.Advance(ctx, stream.MaxWatermark, &out)
	for _, ev := range out.Events() {
		w := ev.Window
		fmt.Printf("%s customer=%s %d tracks from %s to %s (event %d)\n", w.Name, w.Key, w.Count,
			time.Unix(0, w.First).UTC().Format(time.TimeOnly), time.Unix(0, w.Last).UTC().Format(time.TimeOnly), ev.Get("event_id").Int())
	}
	// Output:
	// track_hopper customer=42 3 tracks from 12:02:00 to 12:11:00 (event 5)
}
