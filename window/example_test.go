package window_test

import (
	"context"
	"fmt"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

var t0 = time.Date(2014, 10, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func printResults(out *stream.Emitter) {
	for _, ev := range out.Events() {
		w := ev.Window
		fmt.Printf("%s %s key=%s [%s, %s) count=%d aggs=%v update=%v\n", w.Name, w.Kind, w.Key,
			time.Unix(0, w.Start).UTC().Format(time.TimeOnly), time.Unix(0, w.End).UTC().Format(time.TimeOnly),
			w.Count, w.Aggs, w.Update)
	}
}

// Hourly plays per zip code: tumbling windows fire when the watermark
// reaches their end.
func ExampleNewTumbling() {
	hourly, err := window.NewTumbling(window.TumblingConfig{
		WindowConfig: window.WindowConfig{
			Name: "plays_per_zip", KeyBy: []string{"listening_zip_code"}, Dedup: "event_id",
			Aggs: []window.Aggregate{window.DistinctCount("customers", "customer_id")},
		},
		Size: time.Hour,
	})
	if err != nil {
		panic(err)
	}
	plays := gen.PlayEvents("tracks.csv", []gen.Play{
		{EventID: 1, CustomerID: 1, TrackID: 7, Time: at(5 * time.Minute), Zip: "10001"},
		{EventID: 2, CustomerID: 2, TrackID: 7, Time: at(10 * time.Minute), Zip: "10001"},
		{EventID: 3, CustomerID: 1, TrackID: 8, Time: at(50 * time.Minute), Zip: "10001"},
		{EventID: 4, CustomerID: 3, TrackID: 9, Time: at(20 * time.Minute), Zip: "94105"},
		{EventID: 5, CustomerID: 3, TrackID: 9, Time: at(time.Hour), Zip: "94105"}, // exactly at the end: next window
	})
	ctx := context.Background()
	var out stream.Emitter
	_ = hourly.Process(ctx, plays, &out)
	_ = hourly.Advance(ctx, at(time.Hour).UnixNano(), &out) // fires [12:00, 13:00)
	printResults(&out)
	// Output:
	// plays_per_zip tumbling key=10001 [12:00:00, 13:00:00) count=3 aggs=map[customers:2] update=false
	// plays_per_zip tumbling key=94105 [12:00:00, 13:00:00) count=1 aggs=map[customers:1] update=false
}

// Plays of each customer over the last 30 minutes, every 10 minutes.
func ExampleNewSliding() {
	recent, err := window.NewSliding(window.SlidingConfig{
		WindowConfig: window.WindowConfig{
			Name: "recent", KeyBy: []string{"customer_id"},
			Aggs: []window.Aggregate{window.Count("plays"), window.Last("last_track", "track_id")},
		},
		Size: 30 * time.Minute, Slide: 10 * time.Minute,
	})
	if err != nil {
		panic(err)
	}
	plays := gen.PlayEvents("tracks.csv", []gen.Play{
		{EventID: 1, CustomerID: 1, TrackID: 7, Time: at(5 * time.Minute)},
		{EventID: 2, CustomerID: 1, TrackID: 8, Time: at(25 * time.Minute)},
	})
	ctx := context.Background()
	var out stream.Emitter
	_ = recent.Process(ctx, plays, &out)
	_ = recent.Advance(ctx, stream.MaxWatermark, &out)
	printResults(&out)
	// Output:
	// recent sliding key=1 [11:40:00, 12:10:00) count=1 aggs=map[last_track:7 plays:1] update=false
	// recent sliding key=1 [11:50:00, 12:20:00) count=1 aggs=map[last_track:7 plays:1] update=false
	// recent sliding key=1 [12:00:00, 12:30:00) count=2 aggs=map[last_track:8 plays:2] update=false
	// recent sliding key=1 [12:10:00, 12:40:00) count=1 aggs=map[last_track:8 plays:1] update=false
	// recent sliding key=1 [12:20:00, 12:50:00) count=1 aggs=map[last_track:8 plays:1] update=false
}

// Listening sessions: plays less than 15 minutes apart belong to one
// session. A late play within the allowed lateness bridges two fired
// sessions and re-fires the merged one with update=true.
func ExampleNewSessions() {
	sessions, err := window.NewSessions(window.SessionConfig{
		WindowConfig: window.WindowConfig{
			Name: "sessions", KeyBy: []string{"customer_id"}, AllowedLateness: time.Hour,
			Aggs: []window.Aggregate{window.DistinctCount("tracks", "track_id")},
		},
		Gap: 15 * time.Minute,
	})
	if err != nil {
		panic(err)
	}
	plays := gen.PlayEvents("tracks.csv", []gen.Play{
		{EventID: 1, CustomerID: 1, TrackID: 7, Time: at(0)},
		{EventID: 2, CustomerID: 1, TrackID: 8, Time: at(10 * time.Minute)},
		{EventID: 3, CustomerID: 1, TrackID: 7, Time: at(35 * time.Minute)},
		{EventID: 4, CustomerID: 1, TrackID: 9, Time: at(22 * time.Minute)}, // late: bridges the two
	})
	ctx := context.Background()
	var out stream.Emitter
	_ = sessions.Process(ctx, plays[:3], &out)
	_ = sessions.Advance(ctx, at(time.Hour).UnixNano(), &out)
	_ = sessions.Process(ctx, plays[3:], &out)
	printResults(&out)
	// Output:
	// sessions session key=1 [12:00:00, 12:25:00) count=2 aggs=map[tracks:2] update=false
	// sessions session key=1 [12:35:00, 12:50:00) count=1 aggs=map[tracks:1] update=false
	// sessions session key=1 [12:00:00, 12:50:00) count=4 aggs=map[tracks:3] update=true
}
