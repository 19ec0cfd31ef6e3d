package window

import (
	"strconv"

	"github.com/rulestream/rulestream/stream"
)

// The operator's bits of an entry's meta word (see flatTable): n (stored
// times) | head << 16 (ring position of the oldest).
func meta(n, head int) int64                 { return int64(n) | int64(head)<<16 }
func unmeta(m int64) (n, head int)           { return int(m & 0xffff), int(m >> 16 & 0xffff) }
func (c *CountWithin) live() int             { return c.ints.n + c.other.n }
func (c *CountWithin) tables() [2]*flatTable { return [2]*flatTable{c.ints, c.other} }

// route returns the table and the flat key of a key.
func (c *CountWithin) route(vals []stream.Value) (*flatTable, int64, int64) {
	if classify(vals) == keyInts {
		var k [2]int64
		for i, v := range vals {
			k[i] = v.Int()
		}
		return c.ints, k[0], k[1]
	}
	s, _ := c.keys.find(vals, true)
	return c.other, int64(s), 0
}

// step applies one event, in decision order; pk is its key if it is ints.
func (c *CountWithin) step(ev *stream.Event, pk *preKey, out *stream.Emitter) {
	c.since++
	tab, a, b := c.ints, pk.a, pk.b
	if !pk.ok {
		tab, a, b = c.route(c.kf.values(ev))
	}
	p, ok := tab.find(a, b)
	if !ok {
		if c.live() >= c.cfg.MaxKeys {
			c.evictOne()
			p, _ = tab.find(a, b) // entries may have moved
		}
		p = tab.insert(p, a, b)
	}
	c.dk.dirty(tab, c.ints, a, b)
	e := tab.at(p)
	e[fLast] = ev.Time
	n, head := unmeta(e[fMeta])
	if c.stride == 0 { // Count 1: every event matches
		c.match(ev, ev.Time, tab, a, b, out)
		c.drop(tab, p)
		return
	}
	ring := e[fHead:]
	if n == c.stride && ev.Time-ring[head] <= int64(c.cfg.Within) {
		c.match(ev, ring[head], tab, a, b, out)
		if !c.cfg.AllowOverlap {
			c.drop(tab, p) // the match consumed every stored event
			return
		}
	}
	if n < c.stride {
		ring[(head+n)%c.stride] = ev.Time
		setLow(e, meta(n+1, head))
		return
	}
	ring[head] = ev.Time
	setLow(e, meta(n, (head+1)%c.stride))
}

func (c *CountWithin) keyString(tab *flatTable, a, b int64) string {
	if tab == c.other {
		return c.keys.keyString(int32(a), len(c.cfg.KeyBy))
	}
	s := strconv.AppendInt(make([]byte, 0, 24), a, 10)
	if len(c.cfg.KeyBy) > 1 {
		s = append(s, '|')
		s = strconv.AppendInt(s, b, 10)
	}
	return string(s)
}

func (c *CountWithin) match(ev *stream.Event, first int64, tab *flatTable, a, b int64, out *stream.Emitter) {
	if c.early != nil && c.settle(ev) {
		return
	}
	res := *ev
	res.Window = &stream.WindowInfo{
		Name: c.cfg.Name, Kind: KindCountWithin, Key: c.keyString(tab, a, b),
		Start: first, End: ev.Time, Count: int64(c.cfg.Count), First: first, Last: ev.Time,
	}
	c.stats.Emitted++
	out.Emit(res)
}

// drop removes the entry at p (and its interned key).
func (c *CountWithin) drop(tab *flatTable, p uint64) {
	if tab == c.other {
		c.forget(tab.at(p))
	} else {
		c.dk.removed(tab, c.ints, c.keys, tab.at(p))
	}
	tab.del(p)
}

// forget releases the interned key of an entry of the other table.
func (c *CountWithin) forget(e []int64) {
	c.dk.removed(c.other, c.ints, c.keys, e)
	c.keys.remove(int32(e[fKeyA]))
}

// expire drops keys whose last event is more than Within before the release
// point: no future event can match with what they hold. An incremental
// sweep of the tables, in proportion to the events decided, finds them, so
// a key goes within about one sweep of the table after it expires; at the
// final watermark everything goes.
func (c *CountWithin) expire(rp int64, all bool) {
	if all {
		c.stats.Expired += int64(c.live())
		c.ints, c.other = newFlat(fHead+c.stride), newFlat(fHead+c.stride)
		c.keys = newKeyTable()
		if c.dk != nil {
			c.dk.reset = true
		}
		return
	}
	limit := sub(rp, int64(c.cfg.Within))
	for _, tab := range c.tables() {
		budget := 2*c.since + 64 + int(tab.cap()/256)
		var gone func(e []int64)
		if tab == c.other {
			gone = c.forget
		} else if c.dk != nil {
			gone = func(e []int64) { c.dk.removed(c.ints, c.ints, c.keys, e) }
		}
		c.stats.Expired += int64(tab.sweep(budget, limit, gone))
	}
	c.since = 0
}

// evictOne drops, among the next 16 keys at the sweep cursor, the one
// whose last event is oldest (an approximation of least recently used).
func (c *CountWithin) evictOne() {
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

// Stats returns the counters as of the end of the last call; safe to call
// from any goroutine.
func (c *CountWithin) Stats() Stats { return c.pub.get() }

func (c *CountWithin) publish() { c.pub.set(c.current()) }

func (c *CountWithin) current() Stats {
	s := c.stats
	s.ActiveKeys = int64(c.live())
	s.Pending = int64(len(c.buf.evs))
	return s
}

// Snapshot serialises the watermark, the buffered events and every key's
// unmatched event times, in a deterministic order; in Early mode, then
// the early bookkeeping (so that a restored operator neither fires an
// early result again nor emits its event-time result a second time).
func (c *CountWithin) Snapshot() ([]byte, error) {
	e := c.header()
	c.buf.encode(e)
	encodeFlat(e, c.ints, c.other, c.keys, c.encodeKey)
	if c.early != nil {
		c.early.encode(e, c.buf.known)
	}
	return e.b, nil
}

// encodeKey writes a key's state (after its key): its last time and its
// stored times, oldest first.
func (c *CountWithin) encodeKey(e *encoder, en []int64) {
	e.iv(en[fLast])
	n, head := unmeta(en[fMeta])
	e.uv(uint64(n))
	for i := 0; i < n; i++ {
		e.iv(en[fHead+(head+i)%c.stride])
	}
}

// decodeKey reads what encodeKey wrote into a new entry of key (a, b) of
// tab.
func (c *CountWithin) decodeKey(d *decoder, tab *flatTable, a, b int64) {
	last, cnt := d.iv(), d.uv()
	if d.err != nil {
		return
	}
	p, dup := tab.find(a, b)
	if dup || cnt > uint64(c.stride) || (cnt == 0 && c.stride > 0) {
		d.fail("bad key state")
		return
	}
	en := tab.at(tab.insert(p, a, b))
	en[fLast] = last
	setLow(en, meta(int(cnt), 0))
	for j := 0; j < int(cnt); j++ {
		en[fHead+j] = d.iv()
	}
}

// Restore replaces the state with a snapshot taken with the same Count.
func (c *CountWithin) Restore(data []byte) error {
	d, err := newDecoder(data, snapCountWith)
	if err != nil {
		return err
	}
	n := c.fresh(d)
	n.buf.dedup.name, n.buf.known = c.cfg.Dedup, c.buf.known
	n.buf.decode(d)
	decodeFlat(d, d.count(), n.ints, n.other, n.keys, n.decodeKey)
	n.early = c.newEarly()
	restoreEarly(d, n.early, c.buf.known, false)
	if err := d.finish(); err != nil {
		return err
	}
	n.stats, n.pub, n.shed, n.log = c.stats, c.pub, c.shed, c.log
	*c = *n
	c.publish()
	return nil
}

// header starts a snapshot, whole or an incremental checkpoint's base:
// the watermark and Count.
func (c *CountWithin) header() *encoder {
	e := newEncoder(snapCountWith)
	e.iv(c.clk.wm)
	e.iv(c.clk.floor)
	e.uv(uint64(c.cfg.Count))
	return e
}

// fresh returns an empty operator of c's configuration holding the
// header d reads (what header wrote).
func (c *CountWithin) fresh(d *decoder) *CountWithin {
	n := &CountWithin{cfg: c.cfg, clk: c.clk, kf: newKeyFields(c.cfg.KeyBy), keys: newKeyTable(), stride: c.stride}
	n.ints, n.other = newFlat(fHead+n.stride), newFlat(fHead+n.stride)
	n.clk.wm, n.clk.floor = d.iv(), d.iv()
	if cnt := d.uv(); d.err == nil && cnt != uint64(c.cfg.Count) {
		d.fail("snapshot taken with another Count")
	}
	return n
}
