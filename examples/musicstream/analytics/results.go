package analytics

import (
	"time"

	"github.com/rulestream/rulestream/stream"
)

// Hour formats the hour bucket of t (UTC): YYYYMMDDHH.
func Hour(t time.Time) string { return t.UTC().Format("2006010215") }

// Day formats the day bucket of t (UTC): YYYYMMDD.
func Day(t time.Time) string { return t.UTC().Format("20060102") }

// ParseBucket parses an hour (YYYYMMDDHH) or day (YYYYMMDD) bucket.
func ParseBucket(s string) (time.Time, error) {
	layout := "2006010215"
	if len(s) == 8 {
		layout = "20060102"
	}
	return time.ParseInLocation(layout, s, time.UTC)
}

// add turns one window result into the pending writes of its keys: an
// hour's result carries every hourly key, a day's the day's zip codes. A
// re-fire carries the whole updated window, so its counts replace the
// earlier ones.
func (a *Analytics) add(wi *stream.WindowInfo) error {
	start := time.Unix(0, wi.Start).UTC()
	if wi.Name == wDay {
		d := Day(start)
		return a.breakdown(wi, "zip", "zip:day:"+d, kindZset, top(a.cfg.TopZips), indexDays, d, start)
	}
	h := Hour(start)
	e := a.w.entry("plays:hour:"+h, kindHash, 0, indexHours, h, start)
	if e == nil {
		a.stats.dropped.Add(1)
		return nil
	}
	mobile := wi.Aggs["mobile"].Int()
	e.set("plays", wi.Count)
	e.set("mobile", mobile)
	e.set("desktop", wi.Count-mobile)
	e.set("listeners", wi.Aggs["listeners"].Int())
	for _, b := range []struct {
		agg, key string
		kind     byte
		top      int
	}{
		{"zip", "zip:hour:", kindZset, top(a.cfg.TopZips)},
		{"track_id", "track:hour:", kindZset, top(a.cfg.TopTracks)},
		{"level", "level:hour:", kindHash, 0},
		{"gender", "gender:hour:", kindHash, 0},
		{"age_band", "age:hour:", kindHash, 0},
	} {
		if err := a.breakdown(wi, b.agg, b.key+h, b.kind, b.top, indexHours, h, start); err != nil {
			return err
		}
	}
	return nil
}

// breakdown writes the counts of aggregate agg under key suffix; nothing
// when the window saw no value (an hour without age bands).
func (a *Analytics) breakdown(wi *stream.WindowInfo, agg, suffix string, kind byte, top int, index, bucket string, start time.Time) error {
	res := wi.Aggs[agg].Str()
	if res == "" {
		return nil
	}
	sums := map[string]int64{}
	if err := decodeResult(res, func(k string, n int64) { sums[k] += n }); err != nil {
		return err
	}
	e := a.w.entry(suffix, kind, top, index, bucket, start)
	if e == nil {
		a.stats.dropped.Add(1)
		return nil
	}
	for k, n := range sums {
		e.set(k, n)
	}
	return nil
}
