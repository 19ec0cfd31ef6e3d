package dashboard

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/examples/adsmodel/model"
	"github.com/rulestream/rulestream/stream"
)

// The model chart shows the attempts of the range, in processing time
// ending now, with each one's threshold; the live model beside them.
func TestModelHistoryByRange(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	d, err := New(Config{Redis: rdb, Prefix: prefix, Pipeline: stream.New("p", stream.Config{}), Clock: stream.NewManualClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	if ms := d.State(ctx, t0, RangeAll).Model; ms.Live != nil || len(ms.Attempts) != 0 {
		t.Fatalf("before any training: %+v", ms)
	}
	e := func(v float64) *float64 { return &v }
	for _, a := range []model.Attempt{
		{At: t0.Add(-50 * time.Hour), Rows: 900, Error: e(0.1), Threshold: 0.2, Published: true, Outcome: model.OutcomePublished, Version: 1},
		{At: t0.Add(-20 * time.Hour), Rows: 950, Error: e(0.3), Threshold: 0.2, Outcome: model.OutcomeRefused, Reason: "error 0.3 is not under 0.2"},
		{At: t0.Add(-2 * time.Hour), Outcome: model.OutcomeFailed, Threshold: 0.25, Reason: "clicks.csv: no such file"},
		{At: t0.Add(-30 * time.Minute), Rows: 1000, Error: e(0.15), Threshold: 0.25, Published: true, Outcome: model.OutcomePublished, Version: 2},
	} {
		if _, err := model.AppendHistory(ctx, rdb, prefix, a); err != nil {
			t.Fatal(err)
		}
	}
	rdb.HSet(ctx, prefix+model.Key, map[string]any{"version": 2, "features": "morning,afternoon,evening,night,mobile,unique",
		"weights": "1,2,3,4,5,6", "intercept": "0.5", "test_error": "0.15", "threshold": "0.25", "train_rows": 700, "test_rows": 300,
		"trained_at": t0.Add(-30 * time.Minute).Format(time.RFC3339)})

	for _, c := range []struct {
		r        Range
		versions []int64 // of the attempts shown, 0 when none published
	}{{RangeHour, []int64{2}}, {RangeDay, []int64{0, 0, 2}}, {RangeWeek, []int64{1, 0, 0, 2}}, {RangeAll, []int64{1, 0, 0, 2}}} {
		st := d.State(ctx, t0, c.r)
		if len(st.Errors) > 0 {
			t.Fatalf("%s: %v", c.r, st.Errors)
		}
		ms := st.Model
		if ms.Live == nil || ms.Live.Version != 2 || ms.Live.Threshold != 0.25 || ms.Live.TestError != 0.15 {
			t.Errorf("%s: live %+v", c.r, ms.Live)
		}
		var got []int64
		for _, a := range ms.Attempts {
			got = append(got, a.Version)
		}
		if len(got) != len(c.versions) || (len(got) > 0 && got[len(got)-1] != 2) {
			t.Errorf("%s: attempts of versions %v, want %v", c.r, got, c.versions)
		}
	}
	ms := d.State(ctx, t0, RangeDay).Model
	failed := ms.Attempts[1]
	if failed.Error != nil || failed.Outcome != model.OutcomeFailed || failed.Threshold != 0.25 || failed.Reason != "clicks.csv: no such file" ||
		ms.Attempts[0].Time != t0.Add(-20*time.Hour).UnixMilli() || *ms.Attempts[0].Error != 0.3 {
		t.Errorf("attempts %+v", ms.Attempts)
	}

	// An entry that does not parse is reported; the others are shown.
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: prefix + model.HistoryKey, Values: []any{"at", t0.Format(time.RFC3339), "rows", 1,
		"threshold", "0.2", "published", "0", "outcome", "maybe"}})
	st := d.State(ctx, t0, RangeAll)
	if len(st.Model.Attempts) != 4 || len(st.Errors) != 1 || !strings.Contains(st.Errors[0], "outcome") {
		t.Errorf("with a garbled entry: %d attempts, errors %v", len(st.Model.Attempts), st.Errors)
	}
}
