package alert_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream/alert"
	"github.com/rulestream/rulestream/stream/metrics"
)

var hour0 = t0.Unix() / 3600

// Save writes a hash per source (field: unix hour, value "events
// watched_seconds") and deletes the hours dropped; Load reads them back.
func TestRedisHistoryRoundTrip(t *testing.T) {
	rdb, prefix := testredis.Client(t, 0)
	ctx := context.Background()
	h := alert.NewRedisHistory(rdb, prefix)
	err := h.Save(ctx, []metrics.HistoryChange{
		{Source: "/data/host1.csv", Set: map[int64]metrics.HourCount{
			hour0:     {Events: 7200, Watched: time.Hour},
			hour0 + 1: {Events: 3, Watched: 1799500 * time.Millisecond},
			hour0 + 2: {Events: 0, Watched: 0},
		}},
		{Source: "orders/0", Set: map[int64]metrics.HourCount{hour0: {Events: 1, Watched: time.Minute}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw := rdb.HGetAll(ctx, prefix+"source:history:/data/host1.csv").Val()
	want := map[string]string{itoa(hour0): "7200 3600", itoa(hour0 + 1): "3 1799.5", itoa(hour0 + 2): "0 0"}
	if !maps.Equal(raw, want) {
		t.Errorf("stored %v, want %v", raw, want)
	}
	if err := h.Save(ctx, []metrics.HistoryChange{{Source: "/data/host1.csv", Drop: []int64{hour0, hour0 + 2}},
		{Source: "orders/0"}}); err != nil {
		t.Fatal(err)
	}
	got, err := h.Load(ctx, []string{"/data/host1.csv", "orders/0", "unknown"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got["/data/host1.csv"]) != 1 || got["/data/host1.csv"][hour0+1] != (metrics.HourCount{Events: 3, Watched: 1799500 * time.Millisecond}) ||
		got["orders/0"][hour0] != (metrics.HourCount{Events: 1, Watched: time.Minute}) {
		t.Errorf("loaded %v", got)
	}
	if err := h.Save(ctx, nil); err != nil {
		t.Errorf("an empty save: %v", err)
	}
}

// A malformed stored field is skipped: Load returns the others, and a
// *metrics.HistoryFieldError naming the key, field and value of each.
func TestRedisHistoryMalformedFields(t *testing.T) {
	rdb, prefix := testredis.Client(t, 0)
	ctx := context.Background()
	key := prefix + "source:history:web"
	rdb.HSet(ctx, key, itoa(hour0), "10 3600", "noon", "10 3600", itoa(hour0+1), "ten 3600", itoa(hour0+2), "10")
	got, err := alert.NewRedisHistory(rdb, prefix).Load(ctx, []string{"web"})
	if len(got["web"]) != 1 || got["web"][hour0] != (metrics.HourCount{Events: 10, Watched: time.Hour}) {
		t.Errorf("loaded %v", got)
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok || len(joined.Unwrap()) != 3 {
		t.Fatalf("error %v, want 3 joined", err)
	}
	fields := map[string]bool{}
	for _, e := range joined.Unwrap() {
		var fe *metrics.HistoryFieldError
		if !errors.As(e, &fe) || fe.Key != key || !strings.Contains(e.Error(), key) || !strings.Contains(e.Error(), fe.Field) {
			t.Errorf("%v: not a HistoryFieldError naming the key and field", e)
			continue
		}
		fields[fe.Field] = true
	}
	if !fields["noon"] || !fields[itoa(hour0+1)] || !fields[itoa(hour0+2)] {
		t.Errorf("fields named: %v", fields)
	}
}

func TestParseHour(t *testing.T) {
	for _, c := range []struct {
		field, value string
		hr           int64
		c            metrics.HourCount
		err          string
	}{
		{"493692", "7200 3600", 493692, metrics.HourCount{Events: 7200, Watched: time.Hour}, ""},
		{"0", "0 0", 0, metrics.HourCount{}, ""},
		{"493692", "3 1799.5", 493692, metrics.HourCount{Events: 3, Watched: 1799500 * time.Millisecond}, ""},
		{"493692", "3 0.000000001", 493692, metrics.HourCount{Events: 3, Watched: 1}, ""},
		{"493692", "3 1e3", 493692, metrics.HourCount{Events: 3, Watched: 1000 * time.Second}, ""},
		{"-1", "1 1", 0, metrics.HourCount{}, "unix hour"},
		{"9028801", "1 1", 0, metrics.HourCount{}, "unix hour"},
		{"12x", "1 1", 0, metrics.HourCount{}, "unix hour"},
		{"1", "", 0, metrics.HourCount{}, "want"},
		{"1", "5", 0, metrics.HourCount{}, "want"},
		{"1", "-5 10", 0, metrics.HourCount{}, "events"},
		{"1", "5  10", 0, metrics.HourCount{}, "watched"},
		{"1", "5 10 2", 0, metrics.HourCount{}, "watched"},
		{"1", "5 3600.001", 0, metrics.HourCount{}, "watched"},
		{"1", "5 NaN", 0, metrics.HourCount{}, "watched"},
		{"1", "5 -0.5", 0, metrics.HourCount{}, "watched"},
		{"1", "5 Inf", 0, metrics.HourCount{}, "watched"},
		{"1", "99999999999999999999 1", 0, metrics.HourCount{}, "events"},
	} {
		hr, hc, err := alert.ParseHour(c.field, c.value)
		if c.err == "" {
			if err != nil || hr != c.hr || hc != c.c {
				t.Errorf("%q %q: %d %+v %v, want %d %+v", c.field, c.value, hr, hc, err, c.hr, c.c)
			}
		} else if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q %q: %v, want an error with %q", c.field, c.value, err, c.err)
		}
	}
}

// Whatever is stored, ParseHour returns an error or a count within bounds,
// and what it accepts FormatHour writes back to a value it reads alike.
func FuzzParseHour(f *testing.F) {
	for _, s := range [][2]string{{"493692", "7200 3600"}, {"0", "0 0"}, {"1", "3 1799.5"}, {"1", "5 1e3"}, {"x", "y z"}, {"1", "5 0x1p-2"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, field, value string) {
		hr, c, err := alert.ParseHour(field, value)
		if err != nil {
			return
		}
		if hr < 0 || c.Events < 0 || c.Watched < 0 || c.Watched > time.Hour {
			t.Fatalf("%q %q: out of bounds: %d %+v", field, value, hr, c)
		}
		f2, v2 := alert.FormatHour(hr, c)
		hr2, c2, err := alert.ParseHour(f2, v2)
		if err != nil || hr2 != hr || c2 != c {
			t.Fatalf("%q %q -> %d %+v -> %q %q -> %d %+v %v", field, value, hr, c, f2, v2, hr2, c2, err)
		}
	})
}

func itoa(n int64) string { f, _ := alert.FormatHour(n, metrics.HourCount{}); return f }
