package window

import (
	"cmp"
	"slices"
	"strings"

	"github.com/rulestream/rulestream/stream"
)

// acc is the accumulated state of one window.
type acc struct {
	count       int64
	first, last int64
	vals        []aggVal // one per aggregate
}

type aggVal struct {
	v   stream.Value // min, max, first, last; int sum
	t   int64        // event time of first/last
	f   float64      // float part of a sum
	isF bool         // the sum saw a float
	has bool         // v holds a value
	set map[stream.Value]struct{}
	c   any // custom accumulator
}

// aggregator computes a list of aggregates.
type aggregator struct {
	specs []Aggregate
	refs  []fieldRef
}

func newAggregator(specs []Aggregate) aggregator {
	a := aggregator{specs: specs, refs: make([]fieldRef, len(specs))}
	for i, s := range specs {
		a.refs[i].name = s.Field
	}
	return a
}

func keepStr(v stream.Value) stream.Value {
	if v.Kind() == stream.KindString {
		return stream.String(strings.Clone(v.Str())) // do not pin the batch
	}
	return v
}

func (g *aggregator) add(a *acc, ev *stream.Event) {
	if a.count == 0 {
		a.first, a.last = ev.Time, ev.Time
	} else {
		a.first, a.last = min(a.first, ev.Time), max(a.last, ev.Time)
	}
	a.count++
	if len(g.specs) == 0 {
		return
	}
	if a.vals == nil {
		a.vals = make([]aggVal, len(g.specs))
	}
	for i := range g.specs {
		if v := g.refs[i].get(ev); !v.IsNull() {
			g.fold(i, &a.vals[i], v, ev.Time)
		}
	}
}

func (g *aggregator) fold(i int, x *aggVal, v stream.Value, t int64) {
	switch g.specs[i].Kind {
	case AggSum:
		switch v.Kind() {
		case stream.KindFloat:
			x.f += v.Float()
			x.isF = true
		case stream.KindInt:
			x.v = stream.Int(x.v.Int() + v.Int())
		}
	case AggMin:
		if !x.has || cmpValue(v, x.v) < 0 {
			x.v, x.has = keepStr(v), true
		}
	case AggMax:
		if !x.has || cmpValue(v, x.v) > 0 {
			x.v, x.has = keepStr(v), true
		}
	case AggFirst:
		if !x.has || cmp.Or(cmp.Compare(t, x.t), cmpValue(v, x.v)) < 0 {
			x.v, x.t, x.has = keepStr(v), t, true
		}
	case AggLast:
		if !x.has || cmp.Or(cmp.Compare(t, x.t), cmpValue(v, x.v)) > 0 {
			x.v, x.t, x.has = keepStr(v), t, true
		}
	case AggDistinct:
		if x.set == nil {
			x.set = map[stream.Value]struct{}{}
		}
		if _, ok := x.set[v]; !ok {
			x.set[keepStr(v)] = struct{}{}
		}
	case aggCustom:
		x.c = g.specs[i].fn.add(x.c, v)
	}
}

// merge folds src into dst (session windows).
func (g *aggregator) merge(dst, src *acc) {
	if src.count == 0 {
		return
	}
	if dst.count == 0 {
		dst.first, dst.last = src.first, src.last
	}
	dst.count += src.count
	dst.first, dst.last = min(dst.first, src.first), max(dst.last, src.last)
	if src.vals == nil {
		return
	}
	if dst.vals == nil {
		dst.vals = make([]aggVal, len(g.specs))
	}
	for i := range g.specs {
		d, s := &dst.vals[i], &src.vals[i]
		switch g.specs[i].Kind {
		case AggSum:
			d.v = stream.Int(d.v.Int() + s.v.Int())
			d.f += s.f
			d.isF = d.isF || s.isF
		case AggDistinct:
			for v := range s.set {
				if d.set == nil {
					d.set = map[stream.Value]struct{}{}
				}
				d.set[v] = struct{}{}
			}
		case aggCustom:
			d.c = g.specs[i].fn.merge(d.c, s.c)
		default:
			if s.has {
				g.fold(i, d, s.v, s.t)
			}
		}
	}
}

func (g *aggregator) results(a *acc) map[string]stream.Value {
	if len(g.specs) == 0 {
		return nil
	}
	m := make(map[string]stream.Value, len(g.specs))
	for i, s := range g.specs {
		var x aggVal
		if a.vals != nil {
			x = a.vals[i]
		}
		switch s.Kind {
		case AggCount:
			m[s.Name] = stream.Int(a.count)
		case AggSum:
			if x.isF {
				m[s.Name] = stream.Float(float64(x.v.Int()) + x.f)
			} else {
				m[s.Name] = stream.Int(x.v.Int())
			}
		case AggDistinct:
			m[s.Name] = stream.Int(int64(len(x.set)))
		case aggCustom:
			m[s.Name] = s.fn.result(x.c)
		default:
			m[s.Name] = x.v
		}
	}
	return m
}

func (g *aggregator) encode(e *encoder, a *acc) {
	e.iv(a.count)
	e.iv(a.first)
	e.iv(a.last)
	e.boolean(a.vals != nil)
	if a.vals == nil {
		return
	}
	for i := range g.specs {
		x := &a.vals[i]
		e.value(x.v)
		e.iv(x.t)
		e.f64(x.f)
		e.boolean(x.isF)
		e.boolean(x.has)
		set := make([]stream.Value, 0, len(x.set))
		for v := range x.set {
			set = append(set, v)
		}
		slices.SortFunc(set, cmpValue) // snapshots are deterministic
		e.values(set)
		if g.specs[i].Kind == aggCustom {
			e.str(string(g.specs[i].fn.encode(x.c)))
		}
	}
}

func (g *aggregator) decode(d *decoder) acc {
	a := acc{count: d.iv(), first: d.iv(), last: d.iv()}
	if !d.boolean() || d.err != nil {
		return a
	}
	a.vals = make([]aggVal, len(g.specs))
	for i := range g.specs {
		x := &a.vals[i]
		x.v, x.t, x.f, x.isF, x.has = d.value(), d.iv(), d.f64(), d.boolean(), d.boolean()
		if set := d.values(); len(set) > 0 {
			x.set = make(map[stream.Value]struct{}, len(set))
			for _, v := range set {
				x.set[v] = struct{}{}
			}
		}
		if g.specs[i].Kind == aggCustom && d.err == nil {
			c, err := g.specs[i].fn.decode([]byte(d.str()))
			if err != nil {
				d.fail("custom aggregate " + g.specs[i].Name + ": " + err.Error())
			}
			x.c = c
		}
	}
	return a
}
