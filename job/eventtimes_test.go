package job

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// A job that declares windows reads only the event times windows can hold:
// a year-2200 line is rejected by the decoder, with its raw bytes and a
// reason naming the field, the time and the range, so that it reaches the
// dead letter whole and no rule fires on it (the window dead-lettered it
// with an empty raw after the rules without a window had fired). A job
// without windows reads every time a format reads (1678 to 2262).
func TestEventTimesOfJobsWithWindows(t *testing.T) {
	lines := []string{
		`1,a,3,"2014-10-01 00:00:00",0.5`,
		`2,a,3,"2200-01-01 00:00:00",0.5`,
		`3,a,3,"9999-12-31 00:00:00",0.5`,
		`4,a,3,"1800-01-01 00:00:00",0.5`,
	}
	path := filepath.Join(t.TempDir(), "plays.csv")
	var data []byte
	for _, l := range lines {
		data = append(data, l+"\n"...)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	const windowsRange = "the event times windows can hold (1823-11-12T00:06:22Z to 2116-02-20T23:53:38Z)"
	const representable = `"9999-12-31 00:00:00" is outside the representable time range (1678-01-01 to 2262-04-11)`
	for _, c := range []struct {
		name    string
		src     string
		events  []int64
		reasons map[int64]string // by line
	}{
		{"no window", withBase(""), []int64{1, 2, 4}, map[int64]string{3: "field ts: " + representable}},
		{"a window", withBase("windows:\n  - name: w\n    type: count_within\n    key: user\n    count: 2\n    within: 10m\n"), []int64{1},
			map[int64]string{
				2: "field ts: event time 2200-01-01T00:00:00Z is outside " + windowsRange,
				3: "field ts: " + representable,
				4: "field ts: event time 1800-01-01T00:00:00Z is outside " + windowsRange,
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := mustParse(t, c.src)
			if got := j.RecordSpec().EventTimes; (len(j.Windows) > 0) != (got == window.EventTimes) || (len(j.Windows) == 0) != got.IsZero() {
				t.Fatalf("EventTimes %+v with %d windows", got, len(j.Windows))
			}
			srcs, err := j.FileSources(path, false, stream.FileConfig{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			reasons := map[int64]string{}
			for {
				b, err := srcs[0].Read(context.Background())
				for _, ev := range b.Events {
					ids = append(ids, ev.Get("id").Int())
				}
				for _, r := range b.Rejects {
					reasons[r.Pos.Offset] = r.Reason
					if string(r.Raw) != lines[r.Pos.Offset-1] || r.Pos.Source != path {
						t.Errorf("line %d: raw %q at %v, want %q", r.Pos.Offset, r.Raw, r.Pos, lines[r.Pos.Offset-1])
					}
				}
				if errors.Is(err, stream.ErrEndOfInput) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !equalInts(ids, c.events) {
				t.Errorf("events %v, want %v", ids, c.events)
			}
			if len(reasons) != len(c.reasons) {
				t.Errorf("rejects %v, want %v", reasons, c.reasons)
			}
			for line, want := range c.reasons {
				if reasons[line] != want {
					t.Errorf("line %d: reason %q, want %q", line, reasons[line], want)
				}
			}
		})
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// late_by_ms of an event from 1678 found behind a watermark in 2262 (more
// than int64 nanoseconds apart) is the true distance, not a wrapped
// negative one.
func TestLateByAcrossTheWholeRange(t *testing.T) {
	rdb, prefix := testredis.Client(t, 0)
	ctx := context.Background()
	j := mustParse(t, withBase(`targets:
  - name: out
    type: stream
    key: "q:{user}"
  - name: late
    type: stream
    key: "late"
    fields: [user, late_by_ms]
`))
	b, err := j.Build(BuildConfig{Redis: rdb, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	ev := stream.Event{Key: "a", Time: stream.MinTimeNanos, Schema: j.Schema, Pos: stream.Position{Source: "in", Partition: -1, Offset: 1, Line: true},
		Fields: []stream.Value{stream.Int(1), stream.String("a"), stream.Int(1), stream.TimeNanos(stream.MinTimeNanos), stream.Float(0)}}
	wm := stream.MaxTimeNanos - 1
	if err := b.LateSink(func() int64 { return wm }).(stream.LateWriter).WriteLate(ctx, []stream.Event{ev}, []int64{wm}); err != nil {
		t.Fatal(err)
	}
	if err := b.late.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ls, err := rdb.XRange(ctx, prefix+"late", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := strconv.FormatUint((uint64(wm)+uint64(-stream.MinTimeNanos))/1e6, 10)
	if len(ls) != 1 || ls[0].Values["late_by_ms"] != want {
		t.Fatalf("late entries %v, want late_by_ms %s", ls, want)
	}
}
