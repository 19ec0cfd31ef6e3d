package window

import (
	"cmp"
	"slices"

	"github.com/rulestream/rulestream/stream"
)

// step applies one event, in decision order.
func (c *CountWithin) step(ev *stream.Event, out *stream.Emitter) {
	vals := c.kf.values(ev)
	s, _ := c.keys.find(vals, false)
	if s < 0 {
		for c.keys.live >= c.cfg.MaxKeys && c.evictOne() {
		}
		s, _ = c.keys.find(vals, true)
		if int(s) >= len(c.st) {
			c.grow()
		}
		st := &c.st[s]
		st.n, st.head, st.last = 0, 0, ev.Time
		c.fifo = append(c.fifo, fifoEntry{t: ev.Time, slot: s, gen: st.gen})
	}
	st := &c.st[s]
	st.last = ev.Time
	if c.stride == 0 { // Count 1: every event matches
		c.match(ev, ev.Time, s, out)
		c.drop(s)
		return
	}
	ring := c.times[int(s)*c.stride : int(s+1)*c.stride]
	if int(st.n) == c.stride && ev.Time-ring[st.head] <= int64(c.cfg.Within) {
		c.match(ev, ring[st.head], s, out)
		if !c.cfg.AllowOverlap {
			c.drop(s) // the match consumed every stored event
			return
		}
	}
	if int(st.n) < c.stride {
		ring[(int(st.head)+int(st.n))%c.stride] = ev.Time
		st.n++
		return
	}
	ring[st.head] = ev.Time
	st.head = uint16((int(st.head) + 1) % c.stride)
}

func (c *CountWithin) grow() {
	n := c.keys.slots()
	c.st = append(c.st, make([]cwState, n-len(c.st))...)
	c.times = append(c.times, make([]int64, n*c.stride-len(c.times))...)
}

func (c *CountWithin) match(ev *stream.Event, first int64, s int32, out *stream.Emitter) {
	res := *ev
	res.Window = &stream.WindowInfo{
		Name: c.cfg.Name, Kind: KindCountWithin, Key: c.keys.keyString(s, len(c.cfg.KeyBy)),
		Start: first, End: ev.Time, Count: int64(c.cfg.Count), First: first, Last: ev.Time,
	}
	c.stats.Emitted++
	out.Emit(res)
}

// drop frees a key's slot; its expiry entries become stale.
func (c *CountWithin) drop(s int32) {
	c.st[s].gen++
	c.st[s].n = 0
	c.keys.remove(s)
}

// expire drops keys whose last event is more than Within before the release
// point: no future event can match with what they hold.
func (c *CountWithin) expire(rp int64) {
	limit := sub(rp, int64(c.cfg.Within))
	for c.head < len(c.fifo) && c.fifo[c.head].t < limit {
		e := c.fifo[c.head]
		c.fifo[c.head] = fifoEntry{}
		c.head++
		if c.st[e.slot].gen != e.gen {
			continue
		}
		if last := c.st[e.slot].last; last < limit {
			c.drop(e.slot)
			c.stats.Expired++
		} else {
			c.fifo = append(c.fifo, fifoEntry{t: last, slot: e.slot, gen: e.gen})
		}
	}
	c.compact()
}

// evictOne drops the key at the front of the expiry queue.
func (c *CountWithin) evictOne() bool {
	for c.head < len(c.fifo) {
		e := c.fifo[c.head]
		c.head++
		if c.st[e.slot].gen == e.gen {
			c.drop(e.slot)
			c.stats.Evictions++
			c.compact()
			return true
		}
	}
	return false
}

func (c *CountWithin) compact() {
	if c.head > 1024 && c.head*2 > len(c.fifo) {
		n := copy(c.fifo, c.fifo[c.head:])
		c.fifo = c.fifo[:n]
		c.head = 0
	}
}

// Stats returns the counters.
func (c *CountWithin) Stats() Stats {
	s := c.stats
	s.ActiveKeys = int64(c.keys.live)
	s.Pending = int64(len(c.buf.evs))
	return s
}

// Snapshot serialises the watermark, the buffered events and every key's
// unmatched event times.
func (c *CountWithin) Snapshot() ([]byte, error) {
	e := newEncoder(snapCountWith)
	e.iv(c.clk.wm)
	e.iv(c.clk.floor)
	e.uv(uint64(c.cfg.Count))
	c.buf.encode(e)
	live := make([]int32, 0, c.keys.live)
	for s := range c.keys.kind {
		if c.keys.kind[s] != keyFree {
			live = append(live, int32(s))
		}
	}
	// Oldest first, so a restore rebuilds the expiry queue in order.
	slices.SortFunc(live, func(a, b int32) int {
		return cmp.Or(cmp.Compare(c.st[a].last, c.st[b].last), c.keys.compare(a, b))
	})
	e.uv(uint64(len(live)))
	for _, s := range live {
		st := c.st[s]
		c.keys.writeKey(e, s)
		e.iv(st.last)
		e.uv(uint64(st.n))
		for i := 0; i < int(st.n); i++ {
			e.iv(c.times[int(s)*c.stride+(int(st.head)+i)%c.stride])
		}
	}
	return e.b, nil
}

// Restore replaces the state with a snapshot taken with the same Count.
func (c *CountWithin) Restore(data []byte) error {
	d, err := newDecoder(data, snapCountWith)
	if err != nil {
		return err
	}
	n := &CountWithin{cfg: c.cfg, clk: c.clk, kf: newKeyFields(c.cfg.KeyBy), keys: newKeyTable(), stride: c.stride}
	n.clk.wm, n.clk.floor = d.iv(), d.iv()
	if cnt := d.uv(); d.err == nil && cnt != uint64(c.cfg.Count) {
		d.fail("snapshot taken with another Count")
	}
	n.buf.dedup.name = c.cfg.Dedup
	n.buf.decode(d)
	keys := d.count()
	for i := 0; i < keys && d.err == nil; i++ {
		s := n.keys.readKey(d)
		last, cnt := d.iv(), d.uv()
		if d.err != nil {
			break
		}
		if n.keys.live != i+1 || cnt > uint64(n.stride) || (cnt == 0 && n.stride > 0) {
			d.fail("bad key state")
			break
		}
		if int(s) >= len(n.st) {
			n.grow()
		}
		n.st[s] = cwState{last: last, n: uint16(cnt)}
		for j := 0; j < int(cnt); j++ {
			n.times[int(s)*n.stride+j] = d.iv()
		}
		n.fifo = append(n.fifo, fifoEntry{t: last, slot: s})
	}
	if err := d.finish(); err != nil {
		return err
	}
	n.stats = c.stats
	*c = *n
	return nil
}
