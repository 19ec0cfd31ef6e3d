package job

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
)

// A late event's late_by_ms is how far behind the watermark it was found,
// through a real pipeline run to its end (where the watermark becomes the
// end of time), and its id tells it from another record read at the same
// position in another run.
func TestLateByIsMeasuredWhenFound(t *testing.T) {
	rdb, prefix := testredis.Client(t, 0)
	ctx := context.Background()
	j := mustParse(t, withBase(`lateness: 1m
targets:
  - name: out
    type: stream
    key: "q:{user}"
  - name: late
    type: stream
    key: "late"
    fields: [user, late_by_ms]
`))
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ev := func(line int64, user string, at time.Duration) stream.Event {
		ts := t0.Add(at)
		return stream.Event{Key: user, Time: ts.UnixNano(), Schema: j.Schema, Pos: stream.Position{Source: "in", Partition: -1, Offset: line, Line: true},
			Fields: []stream.Value{stream.Int(line), stream.String(user), stream.Int(1), stream.Time(ts), stream.Float(0)}}
	}
	run := func(events ...stream.Event) {
		b, err := j.Build(BuildConfig{Redis: rdb, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		// One event starts no clock under the outlier guard: without it, the
		// first event sets the watermark the second is late against.
		p := stream.New("late", stream.Config{OutOfOrderness: j.Lateness, MaxAhead: -1})
		p.From(stream.NewSliceSource("in", events, 0)).ViaPartitioned(b.Operators).To(b.Router())
		p.Late(b.LateSink(func() int64 { return p.Stats().Watermark }))
		if err := p.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The watermark is 10:00 + ... : the event at 12:10 makes it 12:09; an
	// event at 12:00 is then 9 minutes behind it.
	run(ev(1, "a", 10*time.Minute), ev(2, "b", 0))
	ls, err := rdb.XRange(ctx, prefix+"late", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 || ls[0].Values["late_by_ms"] != strconv.Itoa(9*60_000) || ls[0].Values["user"] != "b" {
		t.Fatalf("late entries %v, want b late by 540000 ms", ls)
	}
	// Another run, other records at the same positions (a file replaced
	// under its name): its late event is written too; the same records
	// again are not.
	run(ev(1, "c", 10*time.Minute), ev(2, "d", 0))
	run(ev(1, "c", 10*time.Minute), ev(2, "d", 0))
	if ls, _ = rdb.XRange(ctx, prefix+"late", "-", "+").Result(); len(ls) != 2 || ls[1].Values["user"] != "d" {
		t.Fatalf("late entries %v, want b then d", ls)
	}
}
