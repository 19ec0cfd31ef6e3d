package window_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// Every window and pattern dead-letters an event whose time it cannot hold
// (a year-2200 play, decoded by a decoder without EventTimes) with a reason
// naming the window and the time, and the event's fields as raw text: never
// an empty raw.
func TestOutOfRangeTimeDeadLetteredWithRaw(t *testing.T) {
	sc := stream.MustSchema("play", stream.Field{Name: "id", Kind: stream.KindInt}, stream.Field{Name: "user", Kind: stream.KindString},
		stream.Field{Name: "at", Kind: stream.KindTime})
	yes := func(*stream.Event) (bool, error) { return true, nil }
	pc := window.PatternConfig{Name: "p", KeyBy: []string{"user"}, Within: time.Hour}
	wc := window.WindowConfig{Name: "w", KeyBy: []string{"user"}}
	ops := []struct {
		kind, name string
		new        func() (stream.Operator, error)
	}{
		{"count-within", "w", func() (stream.Operator, error) {
			return window.NewCountWithin(window.CountWithinConfig{Name: "w", KeyBy: []string{"user"}, Count: 2, Within: time.Hour})
		}},
		{"tumbling", "w", func() (stream.Operator, error) {
			return window.NewTumbling(window.TumblingConfig{WindowConfig: wc, Size: time.Hour})
		}},
		{"sliding", "w", func() (stream.Operator, error) {
			return window.NewSliding(window.SlidingConfig{WindowConfig: wc, Size: time.Hour, Slide: time.Minute})
		}},
		{"session", "w", func() (stream.Operator, error) {
			return window.NewSessions(window.SessionConfig{WindowConfig: wc, Gap: time.Hour})
		}},
		{"sequence", "p", func() (stream.Operator, error) {
			return window.NewSequence(window.SequenceConfig{PatternConfig: pc, Steps: []window.Predicate{yes, yes}})
		}},
		{"absence", "p", func() (stream.Operator, error) {
			return window.NewAbsence(window.AbsenceConfig{PatternConfig: pc, Start: yes, End: yes})
		}},
		{"new_value", "p", func() (stream.Operator, error) {
			return window.NewNewValue(window.NewValueConfig{PatternConfig: pc, Field: "id"})
		}},
		{"distinct_count", "p", func() (stream.Operator, error) {
			return window.NewDistinctCount(window.DistinctCountConfig{PatternConfig: pc, Field: "id", Count: 2})
		}},
	}
	pos := stream.Position{Source: "plays.csv", Partition: -1, Offset: 3, Line: true}
	for _, at := range []struct {
		t    time.Time
		text string
	}{
		{time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), "2200-01-01T00:00:00Z"},
		{time.Date(1800, 1, 1, 0, 0, 0, 5, time.UTC), "1800-01-01T00:00:00.000000005Z"},
	} {
		for _, o := range ops {
			op, err := o.new()
			require.NoError(t, err, o.kind)
			if st, ok := op.(stream.Starter); ok {
				require.NoError(t, st.Start(context.Background(), stream.Env{Schema: sc}), o.kind)
			}
			ev := stream.Event{Key: "u1", Time: at.t.UnixNano(), Pos: pos, Schema: sc,
				Fields: []stream.Value{stream.Int(7), stream.String("u1"), stream.Time(at.t)}}
			var out stream.Emitter
			require.NoError(t, op.Process(context.Background(), []stream.Event{ev}, &out), o.kind)
			require.Equal(t, []stream.Reject{{Pos: pos,
				Reason: o.kind + " " + o.name + ": event time " + at.text + " is outside the event times windows can hold (1823-11-12T00:06:22Z to 2116-02-20T23:53:38Z)",
				Raw:    []byte("7,u1," + at.text)}}, out.DeadLetters(), o.kind)
			require.Empty(t, out.Events(), o.kind)
		}
	}
	require.False(t, window.EventTimes.Contains(window.MaxEventTime))
	require.True(t, window.EventTimes.Contains(window.MaxEventTime-1))
	require.True(t, window.EventTimes.Contains(-window.MaxEventTime+1))
	require.False(t, window.EventTimes.Contains(-window.MaxEventTime))
}
