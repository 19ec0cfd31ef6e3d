package window_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// mean is a user-defined aggregate: the average of a numeric field.
type mean struct{}

type meanAcc struct {
	Sum float64
	N   int64
}

func (mean) Add(a meanAcc, v stream.Value) meanAcc { return meanAcc{a.Sum + v.Float(), a.N + 1} }
func (mean) Merge(a, b meanAcc) meanAcc            { return meanAcc{a.Sum + b.Sum, a.N + b.N} }
func (mean) Result(a meanAcc) stream.Value {
	if a.N == 0 {
		return stream.Null()
	}
	return stream.Float(a.Sum / float64(a.N))
}
func (mean) Encode(a meanAcc) []byte {
	b := binary.LittleEndian.AppendUint64(nil, math.Float64bits(a.Sum))
	return binary.AppendVarint(b, a.N)
}
func (mean) Decode(b []byte) (meanAcc, error) {
	if len(b) < 9 {
		return meanAcc{}, errors.New("short mean accumulator")
	}
	n, k := binary.Varint(b[8:])
	if k <= 0 {
		return meanAcc{}, errors.New("bad mean count")
	}
	return meanAcc{math.Float64frombits(binary.LittleEndian.Uint64(b)), n}, nil
}

// A user-defined aggregate through window.Custom: the mean track id per
// customer and hour (any numeric field works the same way).
func ExampleCustom() {
	hourly := must(window.NewTumbling(window.TumblingConfig{
		WindowConfig: window.WindowConfig{Name: "mean_track", KeyBy: []string{"customer_id"},
			Aggs: []window.Aggregate{window.Custom[meanAcc]("mean", "track_id", mean{})}},
		Size: time.Hour,
	}))
	plays := gen.PlayEvents("tracks.csv", []gen.Play{
		{EventID: 1, CustomerID: 1, TrackID: 10, Time: at(time.Minute)},
		{EventID: 2, CustomerID: 1, TrackID: 20, Time: at(2 * time.Minute)},
		{EventID: 3, CustomerID: 1, TrackID: 60, Time: at(3 * time.Minute)},
	})
	var out stream.Emitter
	_ = hourly.Process(context.Background(), plays, &out)
	_ = hourly.Advance(context.Background(), stream.MaxWatermark, &out)
	printResults(&out)
	// Output:
	// mean_track tumbling key=1 [12:00:00, 13:00:00) count=3 aggs=map[mean:30] update=false
}

// Order releases events in event-time order once the watermark has passed
// them, dropping duplicate deliveries; the rules' per-key cooldowns behind
// it see the same sequence whatever the arrival order.
func ExampleNewOrder() {
	order := must(window.NewOrder(window.OrderConfig{Dedup: "event_id"}))
	plays := gen.PlayEvents("tracks.csv", []gen.Play{
		{EventID: 3, CustomerID: 1, Time: at(3 * time.Minute)},
		{EventID: 1, CustomerID: 1, Time: at(time.Minute)},
		{EventID: 3, CustomerID: 1, Time: at(3 * time.Minute)}, // duplicate
		{EventID: 2, CustomerID: 2, Time: at(time.Minute)},
	})
	var out stream.Emitter
	ctx := context.Background()
	_ = order.Process(ctx, plays, &out)
	_ = order.Advance(ctx, at(2*time.Minute).UnixNano(), &out)
	fmt.Println("released at 12:02:", len(out.Events()))
	_ = order.Advance(ctx, stream.MaxWatermark, &out)
	for _, ev := range out.Events() {
		fmt.Println(ev.Get("event_id").Int(), ev.EventTime().Format(time.TimeOnly))
	}
	// Output:
	// released at 12:02: 2
	// 1 12:01:00
	// 2 12:01:00
	// 3 12:03:00
}

// Dedup passes the first delivery of each event id at once.
func ExampleNewDedup() {
	dedup := must(window.NewDedup(window.DedupConfig{Field: "event_id"}))
	plays := gen.PlayEvents("tracks.csv", []gen.Play{
		{EventID: 1, Time: at(0)}, {EventID: 2, Time: at(time.Second)}, {EventID: 1, Time: at(0)},
	})
	var out stream.Emitter
	_ = dedup.Process(context.Background(), plays, &out)
	fmt.Println(len(out.Events()), "passed,", dedup.Stats().Duplicates, "duplicate dropped")
	// Output:
	// 2 passed, 1 duplicate dropped
}
