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

// add turns one window result into the pending write of its key.
func (a *Analytics) add(wi *stream.WindowInfo) {
	start := time.Unix(0, wi.Start).UTC()
	h := Hour(start)
	var e *entry
	switch wi.Name {
	case wPlays:
		e = a.w.entry("plays:hour:"+h, kindHash, 0, indexHours, h, start)
		if e == nil {
			break
		}
		mobile := wi.Aggs["mobile"].Int()
		e.set("plays", wi.Count)
		e.set("mobile", mobile)
		e.set("desktop", wi.Count-mobile)
		e.set("listeners", wi.Aggs["listeners"].Int())
	case wZipH:
		e = a.w.entry("zip:hour:"+h, kindZset, top(a.cfg.TopZips), indexHours, h, start)
	case wZipD:
		d := Day(start)
		e = a.w.entry("zip:day:"+d, kindZset, top(a.cfg.TopZips), indexDays, d, start)
	case wTrackH:
		e = a.w.entry("track:hour:"+h, kindZset, top(a.cfg.TopTracks), indexHours, h, start)
	case wLevelH:
		e = a.w.entry("level:hour:"+h, kindHash, 0, indexHours, h, start)
	case wGendH:
		e = a.w.entry("gender:hour:"+h, kindHash, 0, indexHours, h, start)
	case wAgeH:
		e = a.w.entry("age:hour:"+h, kindHash, 0, indexHours, h, start)
	default:
		return
	}
	if e == nil {
		a.stats.dropped.Add(1)
		return
	}
	if wi.Name != wPlays {
		e.set(wi.Key, wi.Count)
	}
}
