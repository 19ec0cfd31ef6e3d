package window

import (
	"math"

	"github.com/rulestream/rulestream/stream"
)

// A distinct-count entry holds, after the flat table's header, n (value,
// time) pairs. The meta word's low bits hold n and the entry's mode: the
// kind of every value when they are all ints, or all times, or all bools
// (the value word is the integer itself), else dcInterned (the value word
// is a valueTable slot).
const (
	dcEmpty    = 0
	dcInterned = 0xff
)

func dcMeta(n, mode int) int64       { return int64(n) | int64(mode)<<16 }
func dcUnmeta(m int64) (n, mode int) { return int(m & 0xffff), int(m >> 16 & 0xff) }
func rawMode(k stream.Kind) bool {
	return k == stream.KindInt || k == stream.KindTime || k == stream.KindBool
}
func (c *DistinctCounter) goneInt(e []int64) {
	c.release(e)
	c.dk.removed(c.ints, c.ints, c.keys, e)
}

func (c *DistinctCounter) goneOther(e []int64) {
	c.release(e)
	c.dk.removed(c.other, c.ints, c.keys, e)
	c.keys.remove(int32(e[fKeyA]))
}

// canonValue makes equal floats equal bitwise: -0 is 0, every NaN one NaN.
func canonValue(v stream.Value) stream.Value {
	if v.Kind() != stream.KindFloat {
		return v
	}
	switch f := v.Float(); {
	case f == 0:
		return stream.Float(0)
	case f != f:
		return stream.Float(math.NaN())
	}
	return v
}

// rawValue is the value a raw-mode word stands for.
func rawValue(mode int, w int64) stream.Value {
	switch stream.Kind(mode) {
	case stream.KindTime:
		return stream.TimeNanos(w)
	case stream.KindBool:
		return stream.Bool(w != 0)
	}
	return stream.Int(w)
}

// valueTable interns values exactly (a keyTable of one value each: by kind
// and content, never by hash alone) and counts the entries holding each.
type valueTable struct {
	t    *keyTable
	refs []int32
	one  [1]stream.Value
}

func newValueTable() valueTable { return valueTable{t: newKeyTable()} }

// find returns the slot of v, or -1.
func (vt *valueTable) find(v stream.Value) int32 {
	vt.one[0] = v
	s, _ := vt.t.find(vt.one[:], false)
	vt.one[0] = stream.Value{}
	return s
}

// hold returns the slot of v, interning it, and counts one more holder.
func (vt *valueTable) hold(v stream.Value) int32 {
	vt.one[0] = v
	s, _ := vt.t.find(vt.one[:], true)
	vt.one[0] = stream.Value{}
	for int(s) >= len(vt.refs) {
		vt.refs = append(vt.refs, 0)
	}
	vt.refs[s]++
	return s
}

func (vt *valueTable) release(s int32) {
	if vt.refs[s]--; vt.refs[s] == 0 {
		vt.t.remove(s)
	}
}

func (vt *valueTable) value(s int32) stream.Value { return vt.t.keyValues(s, 1)[0] }

// word returns v's value word in an entry of the mode, and false when no
// value of the entry can equal v.
func (c *DistinctCounter) word(mode int, v stream.Value) (int64, bool) {
	switch {
	case mode == dcInterned:
		s := c.values.find(v)
		return int64(s), s >= 0
	case mode != dcEmpty && stream.Kind(mode) == v.Kind():
		return v.Int(), true
	}
	return 0, false
}

// add applies the value v of event ev to the key's entry at p.
func (c *DistinctCounter) add(tab *flatTable, p uint64, v stream.Value, ev *stream.Event, out *stream.Emitter) {
	e := tab.at(p)
	t := ev.Time
	lim := sub(t, c.within)
	n, mode := dcUnmeta(e[fMeta])
	s := e[fHead:]
	k := 0
	for i := range n {
		if s[2*i+1] < lim { // too old to count with this event or any later
			if mode == dcInterned {
				c.values.release(int32(s[2*i]))
			}
			continue
		}
		s[2*k], s[2*k+1] = s[2*i], s[2*i+1]
		k++
	}
	if n = k; n == 0 {
		mode = dcEmpty
	}
	e[fLast] = t
	if w, ok := c.word(mode, v); ok {
		for i := range n {
			if s[2*i] == w {
				s[2*i+1] = t
				setLow(e, dcMeta(n, mode))
				return
			}
		}
	}
	if n+1 == c.cfg.Count {
		first := t
		for i := range n {
			first = min(first, s[2*i+1])
		}
		setLow(e, dcMeta(n, mode))
		c.match(ev, first, out)
		c.drop(tab, p) // the match consumes the key's events
		return
	}
	switch {
	case mode == dcEmpty && rawMode(v.Kind()):
		mode = int(v.Kind())
	case mode == dcEmpty:
		mode = dcInterned
	case mode != dcInterned && stream.Kind(mode) != v.Kind():
		for i := range n { // another kind: intern the values held
			s[2*i] = int64(c.values.hold(rawValue(mode, s[2*i])))
		}
		mode = dcInterned
	}
	w := v.Int()
	if mode == dcInterned {
		w = int64(c.values.hold(v))
	}
	s[2*n], s[2*n+1] = w, t
	setLow(e, dcMeta(n+1, mode))
}

// release lets go of the interned values of entry e.
func (c *DistinctCounter) release(e []int64) {
	n, mode := dcUnmeta(e[fMeta])
	if mode != dcInterned {
		return
	}
	for i := range n {
		c.values.release(int32(e[fHead+2*i]))
	}
}

// drop removes the entry at p, its interned values and key.
func (c *DistinctCounter) drop(tab *flatTable, p uint64) {
	e := tab.at(p)
	c.release(e)
	c.dk.removed(tab, c.ints, c.keys, e)
	if tab == c.other {
		c.keys.remove(int32(e[fKeyA]))
	}
	tab.del(p)
}

// expire drops keys whose last event is more than Within before the
// release point: none of their values can count with a later event. An
// incremental sweep, in proportion to the events decided, finds them; at
// the final watermark everything goes.
func (c *DistinctCounter) expire(rp int64, all bool) {
	if all {
		c.stats.Expired += int64(c.live())
		c.reset()
		if c.dk != nil {
			c.dk.reset = true
		}
		return
	}
	limit := sub(rp, c.within)
	for i, tab := range [2]*flatTable{c.ints, c.other} {
		budget := 2*c.since + 64 + int(tab.cap()/256)
		c.stats.Expired += int64(tab.sweep(budget, limit, c.gone[i]))
	}
	c.since = 0
}

// evictOne drops, among the next 16 keys at the sweep cursor, the one
// whose last event is oldest (sampled least recently used), and logs it.
func (c *DistinctCounter) evictOne() {
	c.dropOldest()
	c.log.note(c.stats.Evictions, "keys evicted (MaxKeys)")
}

// dropOldest is evictOne without the log.
func (c *DistinctCounter) dropOldest() {
	tab := c.ints
	if tab.n == 0 {
		tab = c.other
	}
	if tab.n == 0 {
		return
	}
	best, seen := uint64(0), 0
	for p := tab.cursor; seen < 16 && seen < tab.n; p = (p + 1) & tab.mask {
		if tab.used(p) {
			if seen == 0 || tab.at(p)[fLast] < tab.at(best)[fLast] {
				best = p
			}
			seen++
		}
	}
	tab.cursor = (best + 1) & tab.mask
	c.drop(tab, best)
	c.stats.Evictions++
}
