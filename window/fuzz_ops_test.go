package window_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

var oddSchema = stream.MustSchema("odd",
	stream.Field{Name: "customer_id", Kind: stream.KindString},
	stream.Field{Name: "event_id", Kind: stream.KindFloat},
	stream.Field{Name: "track_id", Kind: stream.KindBool},
)

// fuzzEvents decodes bytes into events of odd shapes: play or odd schema or
// none, fields of any kind or missing, times anywhere (MinInt64..MaxInt64
// included).
func fuzzEvents(data []byte) ([]stream.Event, []int64) {
	var evs []stream.Event
	var wms []int64
	for len(data) >= 4 {
		op, a, b, c := data[0], int64(int8(data[1])), int64(data[2]), data[3]
		data = data[4:]
		t := base + a*int64(time.Minute)
		switch c % 7 {
		case 0:
			t = stream.MinWatermark
		case 1:
			t = stream.MaxWatermark
		}
		if op%5 == 0 {
			wms = append(wms, t)
			continue
		}
		ev := stream.Event{Time: t, Key: string(rune('a' + b%3))}
		switch op % 3 {
		case 0:
			ev.Schema = gen.PlaySchema
			ev.Fields = []stream.Value{stream.Int(b % 4), stream.Int(b % 3), stream.Int(int64(c % 3)), stream.TimeNanos(t)}
		case 1:
			ev.Schema = oddSchema
			ev.Fields = []stream.Value{stream.String(string(rune('x' + b%2))), stream.Float(float64(c % 2)), stream.Bool(b%2 == 0)}
		}
		evs = append(evs, ev)
	}
	return evs, wms
}

// FuzzOperators feeds odd events and watermarks to every operator: no
// panic, and a snapshot restores to the same snapshot at any point.
func FuzzOperators(f *testing.F) {
	f.Add([]byte{1, 0, 1, 2, 1, 5, 1, 2, 1, 10, 1, 2, 5, 20, 0, 2, 2, 3, 4, 0, 5, 0, 0, 1})
	f.Add([]byte{2, 1, 1, 1, 4, 1, 1, 1, 7, 250, 1, 1, 10, 0, 0, 0})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, wms := fuzzEvents(data)
		for name, fresh := range snapFactories() {
			op := fresh()
			var out stream.Emitter
			for i := 0; i < len(evs); i += 3 {
				_ = op.Process(ctx, evs[i:min(i+3, len(evs))], &out)
				if len(wms) > 0 {
					_ = op.Advance(ctx, wms[0], &out)
					wms = append(wms[1:], wms[0])
				}
				snap, err := op.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				n := fresh()
				if err := n.Restore(snap); err != nil {
					t.Fatalf("%s: restore of its own snapshot: %v", name, err)
				}
				if again, _ := n.Snapshot(); !bytes.Equal(snap, again) {
					t.Fatalf("%s: snapshot does not round-trip", name)
				}
			}
			_ = op.Advance(ctx, stream.MaxWatermark, &out)
		}
	})
}
