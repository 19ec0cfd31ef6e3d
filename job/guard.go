package job

import (
	"context"
	"slices"
	"strings"

	"github.com/rulestream/rulestream/stream"
)

// guard dead-letters the emissions a target cannot write: a field its key
// template, member or score names is null (a JSON event without that key,
// a payload reading an unset field). The Redis sink would refuse the whole
// batch and stop the pipeline on it; an emission it cannot write is bad
// data, dead-lettered with the reason and its fields, and the rest flows on.
type guard struct {
	fields map[string][]string // per target: the fields that must have values
}

var _ stream.Operator = (*guard)(nil)

// newGuard returns the guard of the job's targets, or nil when no field a
// target needs can be null.
func (j *Job) newGuard() *guard {
	nullable := map[string]bool{} // input fields a record may leave null
	if j.Input.Format == "json" {
		for _, f := range j.Input.Fields {
			if f.Name != j.Input.Time && !slices.Contains(j.Input.Key, f.Name) {
				nullable[f.Name] = true
			}
		}
	}
	g := &guard{fields: map[string][]string{}}
	for _, t := range j.Targets {
		var needed []string
		for _, w := range t.Writes {
			if tpl, err := stream.ParseTemplate(w.Key); err == nil {
				for _, f := range tpl.Fields() {
					if !strings.HasPrefix(f, "$") {
						needed = append(needed, f)
					}
				}
			}
			for _, f := range []string{w.Member, w.Score} {
				if f != "" {
					needed = append(needed, f)
				}
			}
		}
		for _, r := range j.Rules.Rules() {
			if r.Disabled || r.Target != t.Name {
				continue
			}
			payload := j.Rules.PayloadFields(r.Name)
			for _, f := range needed {
				if nullable[f] || slices.Contains(payload, f) {
					if !slices.Contains(g.fields[t.Name], f) {
						g.fields[t.Name] = append(g.fields[t.Name], f)
					}
				}
			}
		}
	}
	if len(g.fields) == 0 {
		return nil
	}
	return g
}

func (g *guard) Process(_ context.Context, in []stream.Event, out *stream.Emitter) error {
	for i := range in {
		ev := &in[i]
		if f := g.missing(ev); f != "" {
			out.DeadLetter(stream.EventReject(ev, "target "+ev.Target+": "+ev.ID+": field "+f+" is null"))
			continue
		}
		out.Emit(*ev)
	}
	return nil
}

// missing returns a field ev's target needs that is null in ev, or "".
func (g *guard) missing(ev *stream.Event) string {
	for _, f := range g.fields[ev.Target] {
		if ev.Get(f).IsNull() {
			return f
		}
	}
	return ""
}

func (g *guard) Advance(context.Context, int64, *stream.Emitter) error { return nil }

// EmitsInArrivalOrder says that the guard passes the events it keeps as it
// takes them (stream.ArrivalOrdered).
func (g *guard) EmitsInArrivalOrder() bool { return true }
