package window

import (
	"fmt"
	"math"
	"slices"

	"github.com/rulestream/rulestream/stream"
)

// snapEarly marks the early section at the end of a snapshot of an
// operator in Early mode. A snapshot without it restores with no early
// bookkeeping; an operator without Early reads and drops it.
const snapEarly = 'E'

// encode writes the early bookkeeping: its keys in key order, each with
// its pool (time, matcher data, fired, event if held) and its claimed
// events (fired, event).
func (x *early) encode(e *encoder, known []*stream.Schema) {
	st := schemaTable{known: known}
	e.u8(snapEarly)
	var slots []int32
	for s := range int32(len(x.ks)) {
		if x.live(s) {
			slots = append(slots, s)
		}
	}
	slices.SortFunc(slots, x.keys.compare)
	e.uv(uint64(len(slots)))
	for _, s := range slots {
		x.keys.writeKey(e, s)
		x.encodeKey(e, &st, s)
	}
}

// encodeKey writes key s's bookkeeping (after its key).
func (x *early) encodeKey(e *encoder, st *schemaTable, s int32) {
	k := &x.ks[s]
	e.iv(k.last)
	e.uv(uint64(len(k.pool)))
	for i := range k.pool {
		p := &k.pool[i]
		e.iv(p.t)
		if x.vals != nil {
			e.value(x.vals.value(int32(p.aux)))
		} else {
			e.uv(p.aux)
		}
		e.boolean(p.fired)
		e.boolean(p.ev >= 0)
		if p.ev >= 0 {
			e.event(st, x.ev(p.ev))
		}
	}
	e.uv(uint64(len(k.held)))
	for _, h := range k.held {
		e.boolean(h.fired)
		e.event(st, x.ev(h.ev))
	}
}

// decode reads what encode wrote (after its marker) into an empty x.
func (x *early) decode(d *decoder, known []*stream.Schema) {
	st := schemaTable{known: known}
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		live := x.keys.live
		s := x.keys.readKey(d)
		if d.err != nil {
			return
		}
		if x.keys.live == live {
			d.fail("early: a key twice")
			return
		}
		x.decodeKey(d, &st, s)
	}
}

// decodeKey reads what encodeKey wrote into key s (new).
func (x *early) decodeKey(d *decoder, st *schemaTable, s int32) {
	for int(s) >= len(x.ks) {
		x.ks = append(x.ks, ekey{})
	}
	k := &x.ks[s]
	k.last = d.iv()
	m := d.count()
	for j := 0; j < m && d.err == nil; j++ {
		p := eent{t: d.iv(), ev: -1}
		if x.vals != nil {
			v := canonValue(d.value())
			if v.IsNull() {
				d.fail("early: a null value")
			}
			p.aux = uint64(x.vals.hold(v))
		} else {
			p.aux = d.uv()
		}
		p.fired = d.boolean()
		if d.boolean() {
			ev := d.event(st)
			if ev.Time != p.t {
				d.fail("early: an event's time differs from its entry's")
			}
			p.ev = x.evs.put(&ev)
		} else if j > int(k.dec) {
			d.fail("early: a decided entry after an undecided one")
		} else {
			k.dec++
		}
		if len(k.pool) > 0 && k.pool[len(k.pool)-1].t > p.t {
			d.fail("early: pool out of order")
		}
		k.pool = append(k.pool, p)
	}
	m = d.count()
	for j := 0; j < m && d.err == nil; j++ {
		fired := d.boolean()
		ev := d.event(st)
		if len(k.held) > 0 && k.held[len(k.held)-1].t > ev.Time {
			d.fail("early: claimed events out of order")
		}
		k.held = append(k.held, eref{t: ev.Time, ev: x.evs.put(&ev), fired: fired})
	}
	x.held += len(k.pool) + len(k.held)
	x.schedule(k)
}

// restoreEarly reads the early section of a snapshot, if there is one,
// into x (a fresh early), or reads and drops it when x is nil (values:
// its pool entries hold values).
func restoreEarly(d *decoder, x *early, known []*stream.Schema, values bool) {
	if d.err != nil || d.off >= len(d.b) || d.b[d.off] != snapEarly {
		return
	}
	d.u8()
	if x == nil {
		x = newEarly(nil, "", 0, math.MaxInt, math.MaxInt, false, false)
		if values {
			x.withValues()
		}
	}
	x.decode(d, known)
}

// deltaOf adds the keys whose bookkeeping changed to d (every key when
// d.Full, which starts the tracking).
func (x *early) deltaOf(d *stream.DeltaPart, sch *deltaSchemas) {
	put := func(s int32) {
		e, st := entryEncoder(sch)
		x.encodeKey(e, st, s)
		d.Put(slotKey(entEarly, x.keys, s), e.b)
	}
	if d.Full || x.dl == nil {
		x.dl = newKeyDelta()
		for s := range int32(len(x.ks)) {
			if x.live(s) {
				put(s)
			}
		}
		return
	}
	for s := range x.dl.slots {
		if x.live(s) {
			put(s)
		}
	}
	for _, k := range x.dl.gone {
		d.Del(k)
	}
	clear(x.dl.slots)
	x.dl.gone = x.dl.gone[:0]
}

// restoreKey reads a key's entry into x.
func (x *early) restoreKey(kv stream.KV, byHash map[uint64]*stream.Schema) error {
	kd := &decoder{b: kv.Key, off: 1}
	live := x.keys.live
	s := x.keys.readKey(kd)
	if err := kd.finish(); err != nil {
		return err
	}
	if x.keys.live == live {
		return fmt.Errorf("%w: early: a key twice", ErrCorrupt)
	}
	d, st := entryDecoder(kv.Value, byHash)
	x.decodeKey(d, st, s)
	return d.finish()
}
