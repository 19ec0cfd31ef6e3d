package metrics

import (
	"context"
	"fmt"
	"time"
)

// HourCount is what a source produced in one hour (UTC) and how much of
// the hour the monitor watched it. Silent hours count too: a quiet period
// that comes back every night is learnt as quiet (a nightly alert on the
// first day only), and one outage weighs a day among Days in the mean.
type HourCount struct {
	Events  int64
	Watched time.Duration
}

// HistoryChange is what Save writes of one source: hours (unix hours,
// unix seconds / 3600) to set, and hours that fell out of the history.
type HistoryChange struct {
	Source string
	Set    map[int64]HourCount
	Drop   []int64
}

// HistoryStore keeps the sources' hourly history across restarts
// (alert.NewRedisHistory: a Redis hash per source; MemoryHistory). Its
// methods are called from the monitor's goroutine, under
// SourceConfig.Timeout.
type HistoryStore interface {
	// Load returns the stored hours of each source (none: no entry). A
	// stored hour it cannot read is skipped: Load returns the others with
	// a *HistoryFieldError for each (errors.Join), which the monitor logs
	// and otherwise ignores. Any other error fails the whole load.
	Load(ctx context.Context, sources []string) (map[string]map[int64]HourCount, error)
	// Save writes the changes.
	Save(ctx context.Context, changes []HistoryChange) error
}

// HistoryFieldError is a stored hour a HistoryStore could not read (a
// value edited by hand, written by another program): skipped, not fatal.
type HistoryFieldError struct {
	Key, Field, Value string
	Err               error
}

func (e *HistoryFieldError) Error() string {
	v := e.Value
	if len(v) > 64 {
		v = v[:64] + "..."
	}
	return fmt.Sprintf("source history %q, field %q: value %q skipped: %v", e.Key, e.Field, v, e.Err)
}

func (e *HistoryFieldError) Unwrap() error { return e.Err }

// fieldErrors returns the *HistoryFieldErrors err consists of, and whether
// it holds nothing else.
func fieldErrors(err error) ([]*HistoryFieldError, bool) {
	if fe, ok := err.(*HistoryFieldError); ok {
		return []*HistoryFieldError{fe}, true
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return nil, false
	}
	var out []*HistoryFieldError
	for _, e := range j.Unwrap() {
		fes, ok := fieldErrors(e)
		if !ok {
			return nil, false
		}
		out = append(out, fes...)
	}
	return out, true
}

// minWatched is how much of an hour must have been watched for its rate to
// count as history.
const minWatched = 30 * time.Minute

// history is one source's hourly counts, by unix hour.
type history struct {
	hours  map[int64]HourCount
	dirty  map[int64]bool
	drop   []int64
	loaded bool  // merged with the store's (or there is no store)
	oldest int64 // the oldest hour kept at the last trim (trim runs once an hour)
}

func newHistory() history {
	return history{hours: map[int64]HourCount{}, dirty: map[int64]bool{}}
}

func unixHour(t time.Time) int64 {
	s := t.Unix()
	if s < 0 && s%3600 != 0 {
		return s/3600 - 1
	}
	return s / 3600
}

func hourStart(h int64) time.Time { return time.Unix(h*3600, 0) }

// add spreads events seen over [from, to) evenly across the hours it
// covers, and counts those hours as watched, when watched is set (not for
// a source that ended).
func (h *history) add(from, to time.Time, events int64, watched bool) {
	if !watched || !to.After(from) {
		return
	}
	total := to.Sub(from)
	left := events
	for t := from; t.Before(to); {
		hr := unixHour(t)
		end := hourStart(hr + 1)
		if end.After(to) {
			end = to
		}
		part := end.Sub(t)
		n := left
		if end.Before(to) {
			n = int64(float64(events) * part.Seconds() / total.Seconds())
		}
		left -= n
		c := h.hours[hr]
		c.Events += n
		c.Watched += part
		h.hours[hr] = c
		h.dirty[hr] = true
		t = end
	}
}

// rate returns the mean rate (events/s) of hour hr on the earlier days
// (hr-24, hr-48, ...) that were watched for at least minWatched.
func (h *history) rate(hr int64, days int) (float64, bool) {
	sum, n := 0.0, 0
	for d := 1; d <= days; d++ {
		c, ok := h.hours[hr-24*int64(d)]
		if !ok || c.Watched < minWatched {
			continue
		}
		sum += float64(c.Events) / c.Watched.Seconds()
		n++
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

// expected returns the events expected over [from, to) from the same
// hours on earlier days: false unless each hour it covers has history.
func (h *history) expected(from, to time.Time, days int) (float64, bool) {
	total := 0.0
	for t := from; t.Before(to); {
		hr := unixHour(t)
		end := hourStart(hr + 1)
		if end.After(to) {
			end = to
		}
		r, ok := h.rate(hr, days)
		if !ok {
			return 0, false
		}
		total += r * end.Sub(t).Seconds()
		t = end
	}
	return total, true
}

// trim drops the hours older than days before now: once per hour (and
// after a merge), as older hours are never read.
func (h *history) trim(now time.Time, days int) {
	oldest := unixHour(now) - 24*int64(days)
	if oldest == h.oldest {
		return
	}
	h.oldest = oldest
	for hr := range h.hours {
		if hr < oldest {
			delete(h.hours, hr)
			delete(h.dirty, hr)
			h.drop = append(h.drop, hr)
		}
	}
}

// merge adds stored hours to what was counted before they were loaded.
func (h *history) merge(stored map[int64]HourCount) {
	for hr, c := range stored {
		m := h.hours[hr]
		m.Events += c.Events
		m.Watched += c.Watched
		if m.Watched > time.Hour {
			m.Watched = time.Hour
		}
		h.hours[hr] = m // dirty if counted here too: saved merged
	}
	h.loaded = true
	h.oldest = 0 // the next sample trims what was stored
}

// change takes what is to be saved: nil when nothing changed.
func (h *history) change(source string) *HistoryChange {
	if len(h.dirty) == 0 && len(h.drop) == 0 {
		return nil
	}
	c := &HistoryChange{Source: source, Set: make(map[int64]HourCount, len(h.dirty)), Drop: h.drop}
	for hr := range h.dirty {
		c.Set[hr] = h.hours[hr]
	}
	clear(h.dirty)
	h.drop = nil
	return c
}

// unsave puts back a change that could not be saved.
func (h *history) unsave(c *HistoryChange) {
	for hr := range c.Set {
		if _, ok := h.hours[hr]; ok {
			h.dirty[hr] = true
		}
	}
	h.drop = append(h.drop, c.Drop...)
}
