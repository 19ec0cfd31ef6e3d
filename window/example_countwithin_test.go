package window_test

import (
	"context"
	"fmt"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// Three plays of one track by one customer within 30 minutes. The third
// play of track 7 completes the pattern 30 minutes (exactly the span) after
// the first; track 9's plays span 30m1s and do not match.
func ExampleNewCountWithin() {
	repeats, err := window.NewCountWithin(window.CountWithinConfig{
		Name: "repeats", KeyBy: []string{"customer_id", "track_id"},
		Count: 3, Within: 30 * time.Minute, Dedup: "event_id",
	})
	if err != nil {
		panic(err)
	}
	t0 := time.Date(2014, 10, 1, 12, 0, 0, 0, time.UTC)
	plays := gen.PlayEvents("tracks.csv", []gen.Play{
		{EventID: 1, CustomerID: 42, TrackID: 7, Time: t0},
		{EventID: 2, CustomerID: 42, TrackID: 9, Time: t0},
		{EventID: 3, CustomerID: 42, TrackID: 7, Time: t0.Add(10 * time.Minute)},
		{EventID: 3, CustomerID: 42, TrackID: 7, Time: t0.Add(10 * time.Minute)}, // duplicate delivery
		{EventID: 4, CustomerID: 42, TrackID: 9, Time: t0.Add(20 * time.Minute)},
		{EventID: 5, CustomerID: 42, TrackID: 7, Time: t0.Add(30 * time.Minute)},
		{EventID: 6, CustomerID: 42, TrackID: 9, Time: t0.Add(30*time.Minute + time.Second)},
	})
	ctx := context.Background()
	var out stream.Emitter
	_ = repeats.Process(ctx, plays, &out)
	_ = repeats.Advance(ctx, stream.MaxWatermark, &out) // end of input: decide everything
	for _, ev := range out.Events() {
		w := ev.Window
		fmt.Printf("%s key=%s count=%d span=%v completed by event %d at %s\n",
			w.Name, w.Key, w.Count, w.Span(), ev.Get("event_id").Int(), ev.EventTime().Format(time.TimeOnly))
	}
	fmt.Printf("duplicates dropped: %d\n", repeats.Stats().Duplicates)
	// Output:
	// repeats key=42|7 count=3 span=30m0s completed by event 5 at 12:30:00
	// duplicates dropped: 1
}
