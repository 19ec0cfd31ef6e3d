package window

import (
	"cmp"
	"slices"
	"strings"

	"github.com/rulestream/rulestream/stream"
)

// cmpValue orders values by kind, then content; it is total and does not
// depend on arrival.
func cmpValue(a, b stream.Value) int {
	if c := cmp.Compare(a.Kind(), b.Kind()); c != 0 {
		return c
	}
	switch a.Kind() {
	case stream.KindString:
		return strings.Compare(a.Str(), b.Str())
	case stream.KindFloat:
		return cmp.Compare(a.Float(), b.Float())
	}
	return cmp.Compare(a.Int(), b.Int())
}

func cmpPos(a, b stream.Position) int {
	return cmp.Or(strings.Compare(a.Source, b.Source), cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
}

// fieldRef reads one named field of events, caching its position per schema.
type fieldRef struct {
	name   string
	schema *stream.Schema
	idx    int
}

func (f *fieldRef) get(ev *stream.Event) stream.Value {
	if f.name == "" {
		return stream.Value{}
	}
	if ev.Schema != f.schema || f.schema == nil {
		f.schema, f.idx = ev.Schema, -1
		if ev.Schema != nil {
			f.idx = ev.Schema.Index(f.name)
		}
	}
	if f.idx >= 0 && f.idx < len(ev.Fields) {
		return ev.Fields[f.idx]
	}
	return stream.Value{}
}

type ref struct {
	t  int64
	id stream.Value
	i  int32
}

// nref is a ref whose dedup value is null, an int, a time or a bool: the
// value's kind and integer order it as cmpValue does, and the smaller
// element sorts faster.
type nref struct {
	t, n int64
	i    int32
	k    stream.Kind
}

// intLike reports whether cmpValue orders v's kind by Int().
func intLike(k stream.Kind) bool {
	return k == stream.KindNull || k == stream.KindInt || k == stream.KindTime || k == stream.KindBool
}

// pending buffers events until the release point passes their time, then
// hands them out in the deterministic order: event time, dedup value, event
// key, position. With dedup on, events of equal time and dedup value (not
// null) are deliveries of one event and only the first in that order is
// released.
type pending struct {
	evs   []stream.Event
	refs  []ref
	nrefs []nref
	order []int32
	dedup fieldRef
	min   int64            // lowest time buffered (valid when len(evs) > 0)
	known []*stream.Schema // schemas restored events share (stream.Env.Schemas)
	dl    *pendingDelta    // incremental checkpoints' tracking, nil before the first
}

func (p *pending) add(ev *stream.Event) {
	if len(p.evs) == 0 || ev.Time < p.min {
		p.min = ev.Time
	}
	p.evs = append(p.evs, *ev)
	if p.dl != nil {
		p.dl.seqs = append(p.dl.seqs, p.dl.next)
		p.dl.next++
	}
}

func (p *pending) less(a, b ref) int {
	if c := cmp.Compare(a.t, b.t); c != 0 {
		return c
	}
	if c := cmpValue(a.id, b.id); c != 0 {
		return c
	}
	ea, eb := &p.evs[a.i], &p.evs[b.i]
	return cmp.Or(strings.Compare(ea.Key, eb.Key), cmpPos(ea.Pos, eb.Pos))
}

func (p *pending) lessN(a, b nref) int {
	if a.t != b.t {
		return cmp.Compare(a.t, b.t)
	}
	if a.k != b.k {
		return cmp.Compare(a.k, b.k)
	}
	if a.n != b.n {
		return cmp.Compare(a.n, b.n)
	}
	ea, eb := &p.evs[a.i], &p.evs[b.i]
	return cmp.Or(strings.Compare(ea.Key, eb.Key), cmpPos(ea.Pos, eb.Pos))
}

// takeN is take when every dedup value to release is int-like.
func (p *pending) takeN(rp int64, all bool) (order []int32, dups int64, ok bool) {
	p.nrefs = p.nrefs[:0]
	for i := range p.evs {
		if all || p.evs[i].Time < rp {
			id := p.dedup.get(&p.evs[i])
			if !intLike(id.Kind()) {
				return nil, 0, false
			}
			p.nrefs = append(p.nrefs, nref{t: p.evs[i].Time, n: id.Int(), i: int32(i), k: id.Kind()})
		}
	}
	slices.SortFunc(p.nrefs, p.lessN)
	for k, r := range p.nrefs {
		if p.dedup.name != "" && k > 0 && r.k != stream.KindNull {
			if prev := p.nrefs[k-1]; prev.t == r.t && prev.k == r.k && prev.n == r.n {
				dups++
				continue
			}
		}
		p.order = append(p.order, r.i)
	}
	return p.order, dups, true
}

// release calls fn, in order, for every buffered event with time < rp (all
// of them when all is set) and returns how many duplicates it dropped.
func (p *pending) release(rp int64, all bool, fn func(ev *stream.Event)) (dups int64) {
	order, dups := p.take(rp, all)
	for _, i := range order {
		fn(&p.evs[i])
	}
	p.compact(rp, all)
	return dups
}

// take returns the positions in p.evs of the events to release, in order,
// duplicates left out. Call compact once they are handled.
func (p *pending) take(rp int64, all bool) (order []int32, dups int64) {
	p.order = p.order[:0]
	if len(p.evs) == 0 || (!all && p.min >= rp) {
		return nil, 0
	}
	if order, dups, ok := p.takeN(rp, all); ok {
		return order, dups
	}
	p.order = p.order[:0]
	p.refs = p.refs[:0]
	for i := range p.evs {
		if all || p.evs[i].Time < rp {
			p.refs = append(p.refs, ref{t: p.evs[i].Time, id: p.dedup.get(&p.evs[i]), i: int32(i)})
		}
	}
	slices.SortFunc(p.refs, p.less)
	for k, r := range p.refs {
		if p.dedup.name != "" && k > 0 && !r.id.IsNull() {
			if prev := p.refs[k-1]; prev.t == r.t && prev.id.Equal(r.id) {
				dups++
				continue
			}
		}
		p.order = append(p.order, r.i)
	}
	clear(p.refs)
	return p.order, dups
}

// compact drops the released events, keeping the rest in arrival order.
func (p *pending) compact(rp int64, all bool) {
	if len(p.evs) == 0 || (!all && p.min >= rp) {
		return
	}
	kept := p.evs[:0]
	p.min = 0
	dl := p.dl
	for i := range p.evs {
		if all || p.evs[i].Time < rp {
			if dl != nil && dl.seqs[i] < dl.saved {
				dl.gone = append(dl.gone, dl.seqs[i])
			}
			continue
		}
		if len(kept) == 0 || p.evs[i].Time < p.min {
			p.min = p.evs[i].Time
		}
		if dl != nil {
			dl.seqs[len(kept)] = dl.seqs[i]
		}
		kept = append(kept, p.evs[i])
	}
	clear(p.evs[len(kept):])
	p.evs = kept
	if dl != nil {
		dl.seqs = dl.seqs[:len(kept)]
	}
}

// cutHalf returns a release point that lets out about half of the buffer,
// oldest first: the bound on buffered events forces an early release.
func (p *pending) cutHalf() int64 {
	ts := make([]int64, len(p.evs))
	for i := range p.evs {
		ts[i] = p.evs[i].Time
	}
	slices.Sort(ts)
	t := ts[len(ts)/2]
	if t == ts[len(ts)-1] && ts[0] < t {
		return t // do not release everything when the top half shares a time
	}
	return t + 1
}

// cut returns a release point that lets out the k oldest buffered events
// (0 < k <= len), for a Shed: every event up to the k-th oldest's time
// (events of one time go together), except that when k < len and the
// newest events share that time, only those before it (if any).
func (p *pending) cut(k int) int64 {
	ts := make([]int64, len(p.evs))
	for i := range p.evs {
		ts[i] = p.evs[i].Time
	}
	slices.Sort(ts)
	t := ts[k-1]
	if k < len(ts) && t == ts[len(ts)-1] && ts[0] < t {
		return t
	}
	return t + 1
}

func (p *pending) encode(e *encoder) {
	st := schemaTable{known: p.known}
	e.uv(uint64(len(p.evs)))
	for i := range p.evs {
		e.event(&st, &p.evs[i])
	}
}

func (p *pending) decode(d *decoder) {
	st := schemaTable{known: p.known}
	n := d.count()
	p.evs = p.evs[:0]
	for i := 0; i < n && d.err == nil; i++ {
		ev := d.event(&st)
		p.add(&ev)
	}
}
