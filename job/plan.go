package job

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rulestream/rulestream/rules"
)

// Plan says what Build makes of a job: only what the rules use. A window
// no enabled rule reads is not built, nor a lookup that neither a rule nor
// a built window's where: reads; the event-time order runs only in front
// of per-event rules that need it (a cooldown).
type Plan struct {
	// Dedup: the input has an id field, so deliveries of one event are
	// dropped first (while within the lateness).
	Dedup bool
	// Lookups are the lookups built, in declaration order.
	Lookups []string
	// Windows are the windows built, in declaration order.
	Windows []string
	// PerEvent: some rule reads plain events (no window).
	PerEvent bool
	// Order: per-event rules see events in event-time order (released once
	// the watermark passes them), because one has a cooldown, whose outcome
	// would otherwise depend on arrival order, and the job's order is
	// event_time (Job.RuleOrder). In arrival order they decide each event
	// as it arrives.
	Order bool
	// Unused names what the job declares and Build leaves out, with why.
	Unused []string
}

// Plan returns what Build makes of the job.
func (j *Job) Plan() Plan {
	var p Plan
	p.Dedup = j.Input.ID != ""
	reads := map[string]bool{}
	windows := map[string]bool{}
	for _, r := range j.Rules.Rules() {
		if r.Disabled {
			continue
		}
		if r.Window != "" {
			windows[r.Window] = true
			continue
		}
		p.PerEvent = true
		if r.Cooldown > 0 && j.RuleOrder() == OrderEventTime {
			p.Order = true
		}
	}
	for _, n := range j.Rules.Joins() {
		reads[n] = true
	}
	for _, w := range j.Windows {
		if !windows[w.Name] {
			p.Unused = append(p.Unused, fmt.Sprintf("window %s: no enabled rule reads it", w.Name))
			continue
		}
		p.Windows = append(p.Windows, w.Name)
		if f := j.filters[w.Name]; f != nil {
			for _, n := range f.Joins() {
				reads[n] = true
			}
		}
		for _, cond := range w.conditions() { // a pattern's conditions may read lookups too
			if f, err := j.Env.NewFilter(w.Name, cond.expr, rules.FilterConfig{}); err == nil {
				for _, n := range f.Joins() {
					reads[n] = true
				}
			}
		}
	}
	for _, l := range j.Lookups {
		// A lookup that drops or dead-letters events it finds no hash for
		// filters the input: it runs whether or not a rule reads it.
		if reads[l.Name] || l.Unknown != "pass" {
			p.Lookups = append(p.Lookups, l.Name)
		} else {
			p.Unused = append(p.Unused, fmt.Sprintf("lookup %s: no rule or where: reads it", l.Name))
		}
	}
	return p
}

// String describes the plan as the chain of one partition, e.g.
// "dedup → account → [failures | events] → rules".
func (p Plan) String() string {
	var parts []string
	if p.Dedup {
		parts = append(parts, "dedup")
	}
	parts = append(parts, p.Lookups...)
	var branches []string
	branches = append(branches, p.Windows...)
	switch {
	case p.Order:
		branches = append(branches, "order")
	case p.PerEvent && len(p.Windows) > 0:
		branches = append(branches, "events")
	}
	switch {
	case len(branches) > 1 || len(p.Windows) > 0:
		parts = append(parts, "["+strings.Join(branches, " | ")+"]")
	case p.Order:
		parts = append(parts, "order")
	}
	parts = append(parts, "rules")
	return strings.Join(parts, " → ")
}

// equal reports whether two plans build the same operators.
func (p Plan) equal(q Plan) bool {
	return p.Dedup == q.Dedup && p.PerEvent == q.PerEvent && p.Order == q.Order &&
		slices.Equal(p.Lookups, q.Lookups) && slices.Equal(p.Windows, q.Windows)
}
