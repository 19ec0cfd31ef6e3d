package dashboard

import (
	"fmt"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/analytics"
)

// Range is a span of the page: the analytics of the hours (event time)
// ending with the newest hour written, and the training attempts of the ad
// model (processing time) ending now.
type Range string

// The ranges of the picker.
const (
	RangeHour Range = "1h"  // the newest hour
	RangeDay  Range = "24h" // the newest 24 hours
	RangeWeek Range = "7d"  // the newest 168 hours, hour by hour
	RangeAll  Range = "all" // every hour written (up to Config.MaxHours), day by day
)

// Ranges are the picker's choices, shortest first.
var Ranges = []Range{RangeHour, RangeDay, RangeWeek, RangeAll}

// ParseRange returns the range named s: 1h, 24h, 7d or all.
func ParseRange(s string) (Range, error) {
	for _, r := range Ranges {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown range %q: want 1h, 24h, 7d or all", s)
}

// span is the range's length; 0 for RangeAll.
func (r Range) span() time.Duration {
	switch r {
	case RangeHour:
		return time.Hour
	case RangeDay:
		return 24 * time.Hour
	case RangeWeek:
		return 7 * 24 * time.Hour
	}
	return 0
}

// Label names the range for people.
func (r Range) Label() string {
	switch r {
	case RangeHour:
		return "last hour"
	case RangeDay:
		return "last 24 h"
	case RangeWeek:
		return "last 7 days"
	}
	return "all"
}

// RangeInfo is what the page shows of its range.
type RangeInfo struct {
	Name  Range  `json:"name"`
	Label string `json:"label"`
	// Bucket is what one bar of the plays chart is: "hour" or, for
	// RangeAll, "day".
	Bucket string `json:"bucket"`
	// From and To are the first and last hours read (YYYYMMDDHH, UTC);
	// empty before the first hour is written.
	From string `json:"from"`
	To   string `json:"to"`
	// Hours is how many hours with data the range holds.
	Hours int `json:"hours"`
	// Omitted is how many older hours RangeAll left out (Config.MaxHours).
	Omitted int `json:"omitted"`
}

const hourLayout = "2006010215"

// hoursIn returns the hours of r, oldest first: the hours written within
// r's span of the newest one (for RangeAll, the newest max of them), and
// how many older hours RangeAll left out.
func hoursIn(r Range, written []string, max int) (hours []string, omitted int, err error) {
	if len(written) == 0 {
		return nil, 0, nil
	}
	newest, err := time.Parse(hourLayout, written[len(written)-1])
	if err != nil {
		return nil, 0, fmt.Errorf("dashboard: hour %q: %w", written[len(written)-1], err)
	}
	if r == RangeAll {
		if len(written) > max {
			return written[len(written)-max:], len(written) - max, nil
		}
		return written, 0, nil
	}
	first := newest.Add(-r.span() + time.Hour).Format(hourLayout)
	i := len(written)
	for i > 0 && written[i-1] >= first { // the names sort as their times
		i--
	}
	return written[i:], 0, nil
}

// Bucket is one bar of the plays chart: an hour, or a day of RangeAll.
type Bucket struct {
	Key     string `json:"key"` // YYYYMMDDHH or YYYYMMDD
	Plays   int64  `json:"plays"`
	Mobile  int64  `json:"mobile"`
	Desktop int64  `json:"desktop"`
	// Listeners are an hour's distinct customers; null for a day, whose
	// distinct customers the analytics do not keep (nor are they the sum of
	// its hours').
	Listeners   *int64  `json:"listeners"`
	MobileShare float64 `json:"mobileShare"`
}

func share(mobile, plays int64) float64 {
	if plays == 0 {
		return 0
	}
	return float64(mobile) / float64(plays)
}

// buckets returns the hours as bars, summed by day when byDay.
func buckets(hours []analytics.HourStats, byDay bool) []Bucket {
	out := make([]Bucket, 0, len(hours))
	for _, h := range hours {
		if !byDay {
			l := h.Listeners
			out = append(out, Bucket{Key: h.Hour, Plays: h.Plays, Mobile: h.Mobile, Desktop: h.Desktop, Listeners: &l,
				MobileShare: h.MobileShare()})
			continue
		}
		day := h.Hour[:8]
		if n := len(out); n == 0 || out[n-1].Key != day {
			out = append(out, Bucket{Key: day})
		}
		b := &out[len(out)-1]
		b.Plays += h.Plays
		b.Mobile += h.Mobile
		b.Desktop += h.Desktop
		b.MobileShare = share(b.Mobile, b.Plays)
	}
	return out
}
