package rules

import (
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"

	"github.com/rulestream/rulestream/stream"
)

// activation is the typed activation rules are evaluated with: it resolves
// the declared variables straight from the event, without building a map.
// It is reused from event to event by one engine.
type activation struct {
	env   *Env
	ev    *stream.Event
	event object
	win   object
	joins []object // per env join; v is nil when the record is absent
	have  []bool   // per env join: joined and known
	// frame is the execution frame fast-path programs run in, built once
	// over this activation (cel's Program.Eval accepts a caller's frame;
	// this saves taking one from cel's pool per evaluation).
	frame *interpreter.ExecutionFrame
}

func newActivation(env *Env) *activation {
	a := &activation{env: env, joins: make([]object, len(env.joins)), have: make([]bool, len(env.joins))}
	a.event.typ = env.prov.objects[env.event]
	a.win.typ = env.prov.objects[env.win]
	for i, n := range env.joins {
		a.joins[i].typ = env.prov.objects[typePrefix+n]
	}
	if f, err := interpreter.NewExecutionFrame(a); err == nil {
		a.frame = f
	}
	return a
}

// set points the activation at ev, resolving the joins in used (the joins
// the live rules read; the others are never asked for).
func (a *activation) set(ev *stream.Event, used []int) {
	a.ev = ev
	a.event.v = ev
	a.win.v = ev.Window
	for _, i := range used {
		rec, ok := ev.Joined(a.env.joins[i])
		a.have[i] = ok && rec != nil
		if a.have[i] {
			a.joins[i].v = rec
		} else {
			a.joins[i].v = nil
		}
	}
}

// clear drops the references to the last event (the batch belongs to the
// runner once Process returns).
func (a *activation) clear() {
	a.ev, a.event.v, a.win.v = nil, nil, nil
	for i := range a.joins {
		a.joins[i].v = nil
	}
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "event":
		return &a.event, true
	case "window":
		if a.ev.Window == nil {
			return nil, false
		}
		return &a.win, true
	case "now":
		return types.Timestamp{Time: time.Unix(0, a.ev.Time).UTC()}, true
	}
	for i, n := range a.env.joins {
		if n == name {
			if !a.have[i] {
				return nil, false
			}
			return &a.joins[i], true
		}
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

// read returns the value at a path, for explanations.
func (a *activation) read(p readPath) any {
	var o *object
	switch p.v {
	case "event":
		o = &a.event
	case "window":
		if a.ev.Window == nil {
			return nil
		}
		o = &a.win
	case "now":
		return time.Unix(0, a.ev.Time).UTC()
	default:
		i := a.env.joinIndex(p.v)
		if i < 0 || !a.have[i] {
			return nil
		}
		o = &a.joins[i]
	}
	if p.field == "" {
		return p.v
	}
	ft, ok := o.typ.fields[p.field]
	if !ok {
		return nil
	}
	v, err := ft.GetFrom(o.v)
	if err != nil {
		return nil
	}
	switch x := v.(type) {
	case types.Duration:
		return x.Duration.String()
	case types.Timestamp:
		return x.Time
	case interface{ Value() any }:
		return x.Value()
	}
	return v
}
