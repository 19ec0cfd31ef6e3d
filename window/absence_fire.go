package window

import (
	"slices"
	"unsafe"

	"github.com/rulestream/rulestream/stream"
)

// absResults collects the starts fired during a call, in order: their
// packed events and key texts are copied into bytes, which flush turns into
// one string that every result's strings share, so a batch of results costs
// a few allocations, not a few per result.
type absResults struct {
	bytes []byte
	items []absItem
	nvals int
}

type absItem struct {
	off, size, koff, klen int
	start, deadline       int64
}

// fire pops the queue's records up to the first pending start whose
// deadline (start + Within) is not before limit, firing the pending ones
// (every one when all is set); dropped records go as they reach the front.
func (a *Absence) fire(limit int64, all bool) {
	for a.recs.len() > 0 {
		r := a.recs.at(a.recs.head)
		if r.t != absDead && !all && add(r.t, a.within) >= limit {
			return
		}
		size := int(r.size)
		if r.t != absDead {
			a.fireOne(r, size)
		}
		a.data.popTo(a.data.head + uint64(size))
		a.recs.popTo(a.recs.head + 1)
		if a.dl != nil {
			a.dl.seqs.popTo(a.recs.head)
		}
	}
}

// fireOne collects the result of the pending start r (the first of its
// key's) and unchains it from its key.
func (a *Absence) fireOne(r *absRec, size int) {
	res := &a.res
	off := len(res.bytes)
	res.bytes = slices.Grow(res.bytes, size)[:off+size]
	a.data.read(res.bytes[off:], a.data.head)
	var ev stream.Event
	a.vals = a.codec.decode(view(res.bytes[off:]), &ev, a.vals[:0])
	vals := a.kf.values(&ev)
	if tab, ka, kb, ok := a.lookup(vals); ok {
		if p, found := tab.find(ka, kb); found {
			e := tab.at(p)
			first, last := unpackChain(e[absChain])
			if n := int(e[fMeta] & metaLow); n <= 1 {
				if tab == a.other {
					a.keys.remove(int32(ka))
				}
				tab.del(p)
				a.stats.Expired++
			} else if a.pos(first) == a.recs.head {
				e[absChain] = packChain(r.next, last)
				setLow(e, int64(n-1))
			}
		}
	}
	koff := len(res.bytes)
	for i, v := range vals {
		if i > 0 {
			res.bytes = append(res.bytes, '|')
		}
		res.bytes = v.AppendText(res.bytes)
	}
	res.items = append(res.items, absItem{off: off, size: size, koff: koff, klen: len(res.bytes) - koff,
		start: r.t, deadline: add(r.t, a.within)})
	res.nvals += len(ev.Fields)
	a.died(a.recs.head)
	r.t = absDead
	a.alive--
}

// view is b as a string without copying, for lookups that do not keep it.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// lookup returns the table and flat key of existing key values.
func (a *Absence) lookup(vals []stream.Value) (*flatTable, int64, int64, bool) {
	if classify(vals) == keyInts {
		var k [2]int64
		for i, v := range vals {
			k[i] = v.Int()
		}
		return a.ints, k[0], k[1], true
	}
	s, _ := a.keys.find(vals, false)
	return a.other, int64(s), 0, s >= 0
}

// flush emits the collected results.
func (a *Absence) flush(out *stream.Emitter) {
	res := &a.res
	if len(res.items) == 0 {
		return
	}
	s := string(res.bytes)
	wins := make([]stream.WindowInfo, len(res.items))
	vals := make([]stream.Value, 0, res.nvals)
	for i, it := range res.items {
		var ev stream.Event
		vals = a.codec.decode(s[it.off:it.off+it.size], &ev, vals)
		ev.Time = it.deadline
		wins[i] = stream.WindowInfo{Name: a.cfg.Name, Kind: KindAbsence, Key: s[it.koff : it.koff+it.klen],
			Start: it.start, End: it.deadline, Count: 1, First: it.start, Last: it.start}
		ev.Window = &wins[i]
		out.Emit(ev)
	}
	a.stats.Emitted += int64(len(res.items))
	res.items, res.bytes, res.nvals = res.items[:0], res.bytes[:0], 0
	if a.recs.len() == 0 && len(a.codec.schemas)+len(a.codec.sources) > 64 {
		a.codec = newEvCodec() // no record or result refers to them: forget schemas and sources no longer seen
	}
	if cap(res.bytes) > 1<<20 { // a burst (the final watermark): do not keep its memory
		res.items, res.bytes = nil, nil
	}
}

// absCompactMin is the number of dropped records below which the queue is
// never compacted.
const absCompactMin = 4096

// compactQueue rewrites the queue without its dropped records once they
// outnumber the pending starts, so that cancelled starts (which otherwise
// wait for their deadline to reach the front) take memory in proportion to
// the pending ones: the queue holds at most about twice the pending starts.
func (a *Absence) compactQueue() {
	dead := int(a.recs.len()) - a.alive
	if dead < absCompactMin || dead <= a.alive {
		return
	}
	recs, data := newChunkFIFO[absRec](absRecShift), newChunkFIFO[byte](absDataShift)
	var seqs chunkFIFO[uint64]
	if a.dl != nil {
		seqs = newChunkFIFO[uint64](absRecShift)
	}
	olds := make([]uint64, 0, a.alive) // old positions of the kept records, in order
	at := a.data.head
	for i := a.recs.head; i < a.recs.tail; i++ {
		r := *a.recs.at(i)
		if r.t != absDead {
			olds = append(olds, i)
			a.scratch = slices.Grow(a.scratch[:0], int(r.size))[:r.size]
			a.data.read(a.scratch, at)
			data.pushAll(a.scratch)
			recs.push(r)
			if a.dl != nil {
				seqs.push(*a.dl.seqs.at(i))
			}
		}
		at += uint64(r.size)
	}
	renum := func(low uint32) uint32 {
		j, ok := slices.BinarySearch(olds, a.pos(low))
		if !ok {
			return 0 // a last start's next: never read
		}
		return uint32(j)
	}
	for i := range recs.tail {
		r := recs.at(i)
		r.next = renum(r.next)
	}
	for _, tab := range [2]*flatTable{a.ints, a.other} {
		tab.each(func(e []int64) {
			first, last := unpackChain(e[absChain])
			e[absChain] = packChain(renum(first), renum(last))
		})
	}
	a.recs, a.data = recs, data
	if a.dl != nil {
		a.dl.seqs = seqs
	}
}
