package model

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestHistoryRoundTrip(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	e1, e2 := 0.0425, 0.125
	want := []Attempt{
		{At: at, Rows: 5000, Error: &e1, Threshold: 0.1, Published: true, Outcome: OutcomePublished,
			Reason: "held-out error 4.25% is under the threshold 10.00%", Version: 3, Duration: 1500 * time.Millisecond},
		{At: at.Add(time.Hour), Rows: 5000, Error: &e2, Threshold: 0.1, Outcome: OutcomeRefused,
			Reason: "held-out error 12.50% is not under the threshold 10.00%", Duration: time.Second},
		{At: at.Add(2 * time.Hour), Threshold: 0.1, Outcome: OutcomeFailed, Reason: "read data: open x.csv: no such file or directory"},
	}
	for i := range want {
		id, err := AppendHistory(ctx, rdb, prefix, want[i])
		if err != nil {
			t.Fatal(err)
		}
		want[i].ID = id
	}
	// The fields as redis-cli shows them.
	raw, err := rdb.XRange(ctx, prefix+HistoryKey, "-", "+").Result()
	if err != nil || len(raw) != 3 {
		t.Fatalf("%d entries, %v", len(raw), err)
	}
	if got := raw[0].Values; got["at"] != "2026-11-23T12:00:00Z" || got["rows"] != "5000" || got["error"] != "0.0425" ||
		got["published"] != "1" || got["outcome"] != "published" || got["version"] != "3" || got["duration_ms"] != "1500" {
		t.Errorf("first entry %v", got)
	}
	if _, ok := raw[2].Values["error"]; ok {
		t.Errorf("a failed attempt has an error field: %v", raw[2].Values)
	}

	got, err := ReadHistory(ctx, rdb, prefix, 10)
	if err != nil || len(got) != 3 {
		t.Fatalf("ReadHistory: %d, %v", len(got), err)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || !g.At.Equal(w.At) || g.Rows != w.Rows || (g.Error == nil) != (w.Error == nil) ||
			(g.Error != nil && *g.Error != *w.Error) || g.Threshold != w.Threshold || g.Published != w.Published ||
			g.Outcome != w.Outcome || g.Reason != w.Reason || g.Version != w.Version || g.Duration != w.Duration {
			t.Errorf("attempt %d: got %+v, want %+v", i, g, w)
		}
	}
	// The newest n, oldest first.
	if last, err := ReadHistory(ctx, rdb, prefix, 2); err != nil || len(last) != 2 || last[0].ID != want[1].ID {
		t.Errorf("newest 2: %+v %v", last, err)
	}

	// A malformed entry is reported and skipped; the others are kept.
	bad, _ := rdb.XAdd(ctx, &redis.XAddArgs{Stream: prefix + HistoryKey, Values: []any{"at", "yesterday", "rows", "x", "published", "yes", "outcome", "maybe"}}).Result()
	got, err = ReadHistory(ctx, rdb, prefix, 10)
	if len(got) != 3 || err == nil {
		t.Fatalf("with a bad entry: %d attempts, %v", len(got), err)
	}
	for _, w := range []string{"entry " + bad, "field at", `field rows "x"`, "field threshold missing", `field published "yes"`, `field outcome "maybe"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if n, _ := ReadHistory(ctx, rdb, prefix+"none:", 10); len(n) != 0 {
		t.Errorf("empty history: %v", n)
	}
}
