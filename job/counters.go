package job

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/targets"
)

// Counters are a built job's totals over every partition.
type Counters struct {
	Duplicates int64                   // duplicate deliveries dropped
	Windows    map[string]WindowCounts // by window name
	Firings    map[string]int64        // emissions per rule
	RuleErrors map[string]int64        // runtime errors per rule
	// Degraded is non-empty while Redis lookups fail.
	Degraded string
}

// WindowCounts are a window's totals.
type WindowCounts struct {
	Results   int64 // results emitted (matches of a count_within)
	Evictions int64 // state dropped by a hard bound
	Late      int64 // events too late for it
	Filtered  int64 // events its where: kept out
	Errors    int64 // its where: or its pattern's conditions failing on an event (counted as false)
	// With early: (window.Stats), results emitted on arrival; event-time
	// results an early one had already given; event-time results emitted
	// as corrections. Results = Early + Corrections.
	Early, Confirmed, Corrections int64
}

// Counters sums the counters of every partition's operators, those of
// partitions released (revoked) included.
func (b *Built) Counters() Counters {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := Counters{Windows: map[string]WindowCounts{}, Firings: map[string]int64{}, RuleErrors: map[string]int64{}}
	for _, r := range b.master.Live().Rules() {
		if !r.Disabled {
			c.Firings[r.Name] = 0
			c.RuleErrors[r.Name] = 0
		}
	}
	c = addCounts(c, b.retired)
	for pt := range b.parts {
		c = addCounts(c, pt.counts())
	}
	for pt := range b.parts {
		for _, l := range pt.lookups {
			if h := l.Health(); h.Degraded {
				c.Degraded = fmt.Sprintf("redis unreachable since %s: %s", h.Since.UTC().Format(time.RFC3339), h.Err)
			}
		}
	}
	return c
}

// counts are the counters of one partition's operators.
func (pt *part) counts() Counters {
	c := Counters{Windows: map[string]WindowCounts{}, Firings: map[string]int64{}, RuleErrors: map[string]int64{}}
	if pt.engine != nil {
		for _, rs := range pt.engine.Stats().Rules {
			c.Firings[rs.Rule] += rs.Firings
			c.RuleErrors[rs.Rule] += rs.Errors
		}
	}
	for _, d := range pt.dedups {
		c.Duplicates += d.Stats().Duplicates
	}
	for name, ws := range pt.windows {
		var wc WindowCounts
		for _, w := range ws {
			st := w.Stats()
			wc.Results += st.Emitted
			wc.Evictions += st.Evictions
			wc.Late += st.Late
			wc.Errors += st.Errors
			wc.Early += st.Early
			wc.Confirmed += st.Confirmed
			wc.Corrections += st.Corrections
		}
		for _, f := range pt.filters[name] {
			st := f.Stats()
			wc.Filtered += st.Dropped + st.Skipped + st.Errors
			wc.Errors += st.Errors
		}
		c.Windows[name] = wc
	}
	return c
}

// addCounts returns a plus b.
func addCounts(a, b Counters) Counters {
	a.Duplicates += b.Duplicates
	for k, v := range b.Firings {
		a.Firings[k] += v
	}
	for k, v := range b.RuleErrors {
		a.RuleErrors[k] += v
	}
	for k, v := range b.Windows {
		w := a.Windows[k]
		w.Results += v.Results
		w.Evictions += v.Evictions
		w.Late += v.Late
		w.Filtered += v.Filtered
		w.Errors += v.Errors
		w.Early += v.Early
		w.Confirmed += v.Confirmed
		w.Corrections += v.Corrections
		a.Windows[k] = w
	}
	return a
}

// FormatCounts formats counts as "name=N ..." sorted by name.
func FormatCounts(m map[string]int64) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s=%d", n, m[n])
	}
	return strings.Join(parts, " ")
}

// Invalidator returns an invalidator that drops the lookups' cached
// records as soon as their hashes change in Redis (keyspace notifications,
// or cfg.Channel). Run it in a goroutine of its own.
func (b *Built) Invalidator(cfg enrich.InvalidatorConfig) *enrich.Invalidator {
	iv := enrich.NewInvalidator(b.cfg.Redis, cfg)
	for _, l := range b.protos {
		iv.WatchLookup(l)
	}
	return iv
}

// structureDiff says what differs between two jobs besides their rules, or
// "" when nothing does.
func (j *Job) structureDiff(next *Job) string {
	var diffs []string
	if j.Name != next.Name {
		diffs = append(diffs, "name")
	}
	if !reflect.DeepEqual(j.Input, next.Input) {
		diffs = append(diffs, "input")
	}
	if j.Lateness != next.Lateness {
		diffs = append(diffs, "lateness")
	}
	if j.MaxAhead != next.MaxAhead {
		diffs = append(diffs, "max_ahead")
	}
	if j.IdleAdvance != next.IdleAdvance {
		diffs = append(diffs, "idle_advance")
	}
	if j.Order != next.Order {
		diffs = append(diffs, "order")
	}
	if !reflect.DeepEqual(j.Lookups, next.Lookups) {
		diffs = append(diffs, "lookups")
	}
	strip := func(ws []Window) []Window {
		out := make([]Window, len(ws))
		for i, w := range ws {
			w.node = nil
			out[i] = w
		}
		return out
	}
	if !reflect.DeepEqual(strip(j.Windows), strip(next.Windows)) {
		diffs = append(diffs, "windows")
	}
	stripT := func(ts []Target) []Target {
		out := make([]Target, len(ts))
		for i, t := range ts {
			ws := make([]Write, len(t.Writes))
			for k, w := range t.Writes {
				w.node = nil
				ws[k] = w
			}
			out[i] = Target{Name: t.Name, Writes: ws}
		}
		return out
	}
	if !reflect.DeepEqual(stripT(j.Targets), stripT(next.Targets)) {
		diffs = append(diffs, "targets")
	}
	if len(diffs) == 0 {
		return ""
	}
	return strings.Join(diffs, ", ") + " changed"
}

// TargetCounts are what one target's Redis sink did.
type TargetCounts struct {
	Written    int64 // emissions written for the first time
	Duplicates int64 // emissions already written (a replay), skipped
	Pending    int   // emissions buffered or in flight, not yet acknowledged by Redis
}

// Targets returns each target's counts, by name.
func (b *Built) Targets() map[string]TargetCounts {
	out := map[string]TargetCounts{}
	for _, s := range b.Sinks() {
		rs, ok := s.(*targets.RedisSink)
		if !ok {
			continue
		}
		st := rs.Stats()
		out[rs.Name()] = TargetCounts{Written: st.Written, Duplicates: st.Duplicates, Pending: rs.Pending()}
	}
	return out
}
