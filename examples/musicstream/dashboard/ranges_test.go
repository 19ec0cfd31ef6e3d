package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/rulestream/rulestream/examples/musicstream/analytics"
)

func TestParseRange(t *testing.T) {
	for _, r := range Ranges {
		if got, err := ParseRange(string(r)); err != nil || got != r {
			t.Errorf("ParseRange(%q) = %q, %v", r, got, err)
		}
	}
	for _, s := range []string{"", "2h", "ALL", "24"} {
		if _, err := ParseRange(s); err == nil || !strings.Contains(err.Error(), "want 1h, 24h, 7d or all") {
			t.Errorf("ParseRange(%q): %v", s, err)
		}
	}
	if _, err := New(Config{Redis: nil, Range: "2d"}); err == nil || !strings.Contains(err.Error(), "Config.Range") {
		t.Errorf("New with Range 2d: %v", err)
	}
}

func TestHoursIn(t *testing.T) {
	written := []string{"2026010100", "2026010105", "2026010200", "2026010210", "2026010211"}
	for _, c := range []struct {
		r       Range
		max     int
		want    []string
		omitted int
	}{
		{RangeHour, 100, written[4:], 0},
		{RangeDay, 100, written[2:], 0}, // from 2026010112 on
		{RangeWeek, 100, written, 0},
		{RangeAll, 100, written, 0},
		{RangeAll, 3, written[2:], 2},
	} {
		got, omitted, err := hoursIn(c.r, written, c.max)
		if err != nil || !slices.Equal(got, c.want) || omitted != c.omitted {
			t.Errorf("%s, max %d: %v, %d omitted, %v; want %v, %d", c.r, c.max, got, omitted, err, c.want, c.omitted)
		}
	}
	if got, _, err := hoursIn(RangeDay, nil, 10); got != nil || err != nil {
		t.Errorf("no hours: %v, %v", got, err)
	}
	if _, _, err := hoursIn(RangeDay, []string{"yesterday"}, 10); err == nil {
		t.Error("a garbled hour was accepted")
	}
}

func TestBucketsByDay(t *testing.T) {
	hours := []analytics.HourStats{
		{Hour: "2026010122", Plays: 10, Mobile: 4, Desktop: 6, Listeners: 3},
		{Hour: "2026010123", Plays: 10, Mobile: 6, Desktop: 4, Listeners: 5},
		{Hour: "2026010200", Plays: 5, Mobile: 0, Desktop: 5, Listeners: 2},
	}
	days := buckets(hours, true)
	if len(days) != 2 || days[0] != (Bucket{Key: "20260101", Plays: 20, Mobile: 10, Desktop: 10, MobileShare: 0.5}) ||
		days[1].Plays != 5 || days[1].Listeners != nil {
		t.Errorf("days %+v", days)
	}
	hs := buckets(hours, false)
	if len(hs) != 3 || *hs[1].Listeners != 5 || hs[1].MobileShare != 0.6 {
		t.Errorf("hours %+v", hs)
	}
}

// Each range shows the hours within its span of the newest hour written,
// RangeAll day by day; the rankings are summed over the same hours and the
// tracks carry their titles.
func TestStateRanges(t *testing.T) {
	d := served(t, 6000, nil) // about 13 hours
	ctx := context.Background()
	sum := func(bs []Bucket) (n int64) {
		for _, b := range bs {
			n += b.Plays
		}
		return n
	}
	hour := d.State(ctx, t0, RangeHour)
	day := d.State(ctx, t0, RangeDay)
	all := d.State(ctx, t0, RangeAll)
	week := d.State(ctx, t0, RangeWeek)
	for _, st := range []State{hour, day, all, week} {
		if len(st.Errors) > 0 {
			t.Fatalf("%s: %v", st.Range.Name, st.Errors)
		}
		if st.TopTracks.Hours != st.Range.Hours || len(st.TopTracks.Entries) == 0 {
			t.Errorf("%s: tracks ranked over %d hours, range of %d", st.Range.Name, st.TopTracks.Hours, st.Range.Hours)
		}
		for _, e := range st.TopTracks.Entries {
			if e.Track == nil || e.Track.Title == "" || e.Track.Artist == "" {
				t.Errorf("%s: track %s without title: %+v", st.Range.Name, e.Key, e.Track)
			}
		}
	}
	if len(hour.Buckets) != 1 || hour.Range.Hours != 1 || hour.Range.From != hour.Range.To || hour.Range.Label != "last hour" {
		t.Errorf("last hour: %d buckets, %+v", len(hour.Buckets), hour.Range)
	}
	if len(day.Buckets) < 13 || len(day.Buckets) != day.Range.Hours || day.Range.Bucket != "hour" || sum(day.Buckets) != 6180 {
		t.Errorf("24 h: %d buckets, %d plays, %+v", len(day.Buckets), sum(day.Buckets), day.Range)
	}
	if sum(week.Buckets) != 6180 || sum(all.Buckets) != 6180 || all.Range.Bucket != "day" || len(all.Buckets) > 2 || len(all.Buckets[0].Key) != 8 {
		t.Errorf("7 d: %d plays; all: %d plays in %+v", sum(week.Buckets), sum(all.Buckets), all.Buckets)
	}
	if hour.TopTracks.Entries[0].Plays >= day.TopTracks.Entries[0].Plays {
		t.Errorf("the top track of the last hour has %d plays, of 24 h %d", hour.TopTracks.Entries[0].Plays, day.TopTracks.Entries[0].Plays)
	}

	// A track without reference data keeps its id and no title.
	top := day.TopTracks.Entries[0].Key
	d.cfg.Redis.Del(ctx, d.cfg.Prefix+"track:"+top)
	if e := d.State(ctx, t0, RangeDay).TopTracks.Entries[0]; e.Key != top || e.Track != nil {
		t.Errorf("track %s without its hash: %+v", top, e)
	}

	srv := httptest.NewServer(d)
	defer srv.Close()
	for _, c := range []struct {
		q    string
		code int
		want string
	}{{"", 200, `"name":"24h"`}, {"?range=7d", 200, `"name":"7d"`}, {"?range=all", 200, `"bucket":"day"`},
		{"?range=2h", 400, `unknown range \"2h\"`}} {
		resp, err := http.Get(srv.URL + "/api/dashboard" + c.q)
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&raw)
		resp.Body.Close()
		if resp.StatusCode != c.code || !strings.Contains(string(raw), c.want) {
			t.Errorf("GET /api/dashboard%s: %d %.200s; want %d with %s", c.q, resp.StatusCode, raw, c.code, c.want)
		}
	}
}
