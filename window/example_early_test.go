package window_test

import (
	"context"
	"fmt"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// Early mode: the third play of a track within 30 minutes goes out in the
// Process call that delivers it, long before the watermark passes it. A
// play delivered late (but within the lateness) that completes an earlier
// match in event time comes out at the watermark as a correction: the
// earliest completion among the results, 12:20, is the event-time
// answer's.
func ExampleCountWithinConfig_early() {
	repeats, err := window.NewCountWithin(window.CountWithinConfig{
		Name: "repeats", KeyBy: []string{"customer_id", "track_id"},
		Count: 3, Within: 30 * time.Minute, Dedup: "event_id", AllowedLateness: time.Hour, Early: true,
	})
	if err != nil {
		panic(err)
	}
	t0 := time.Date(2014, 10, 1, 12, 0, 0, 0, time.UTC)
	play := func(id int64, min time.Duration) []stream.Event {
		return gen.PlayEvents("tracks.csv", []gen.Play{{EventID: id, CustomerID: 42, TrackID: 7, Time: t0.Add(min * time.Minute)}})
	}
	ctx := context.Background()
	var out stream.Emitter
	show := func(when string) {
		for _, ev := range out.Events() {
			w := ev.Window
			fmt.Printf("%s: %s key=%s first=%s completed by event %d at %s\n", when, w.Name, w.Key,
				time.Unix(0, w.First).UTC().Format(time.TimeOnly), ev.Get("event_id").Int(), ev.EventTime().Format(time.TimeOnly))
		}
		out.Reset()
	}
	for i, p := range [][]stream.Event{play(2, 10), play(3, 20), play(4, 25), play(1, 0)} {
		_ = repeats.Process(ctx, p, &out)
		show(fmt.Sprintf("play %d arrives", i+1))
	}
	_ = repeats.Advance(ctx, stream.MaxWatermark, &out)
	show("watermark")
	st := repeats.Stats()
	fmt.Printf("early %d, confirmed %d, corrections %d\n", st.Early, st.Confirmed, st.Corrections)
	// Output:
	// play 3 arrives: repeats key=42|7 first=12:10:00 completed by event 4 at 12:25:00
	// watermark: repeats key=42|7 first=12:00:00 completed by event 3 at 12:20:00
	// early 1, confirmed 0, corrections 1
}
