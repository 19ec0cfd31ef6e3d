package window

import (
	"github.com/rulestream/rulestream/stream"
)

// Snapshot serialises the watermark, the buffered events and every key's
// values with their times, in a deterministic order; in Early mode, then
// the early bookkeeping.
func (c *DistinctCounter) Snapshot() ([]byte, error) {
	e := c.header()
	c.buf.encode(e)
	encodeFlat(e, c.ints, c.other, c.keys, c.encodeKey)
	if c.early != nil {
		c.early.encode(e, c.buf.known)
	}
	return e.b, nil
}

// Restore replaces the state with a snapshot taken with the same Count.
func (c *DistinctCounter) Restore(data []byte) error {
	d, err := newDecoder(data, snapDistinct)
	if err != nil {
		return err
	}
	n := c.fresh(d)
	n.buf.dedup.name, n.buf.known = c.cfg.Dedup, c.buf.known
	n.buf.decode(d)
	decodeFlat(d, d.count(), n.ints, n.other, n.keys, n.decodeKey)
	n.early, n.efield, n.ecount = c.newEarly(), c.efield, c.ecount
	restoreEarly(d, n.early, c.buf.known, true)
	if err := d.finish(); err != nil {
		return err
	}
	n.stats, n.pub, n.shed = c.stats, c.pub, c.shed
	*c = *n
	c.bind()
	c.publish()
	return nil
}

// encodeKey writes the state of the entry en (after its key): its last
// time, then its values with their times.
func (c *DistinctCounter) encodeKey(e *encoder, en []int64) {
	e.iv(en[fLast])
	n, mode := dcUnmeta(en[fMeta])
	e.uv(uint64(n))
	for i := range n {
		w := en[fHead+2*i]
		if mode == dcInterned {
			e.value(c.values.value(int32(w)))
		} else {
			e.value(rawValue(mode, w))
		}
		e.iv(en[fHead+2*i+1])
	}
}

// decodeKey reads what encodeKey wrote into a new entry of key (a, b) of
// tab.
func (c *DistinctCounter) decodeKey(d *decoder, tab *flatTable, a, b int64) {
	last, cnt := d.iv(), d.count()
	if d.err != nil {
		return
	}
	if cnt == 0 || cnt > c.slots {
		d.fail("bad key state")
		return
	}
	vals, times := make([]stream.Value, 0, cnt), make([]int64, 0, cnt)
	for range cnt {
		vals, times = append(vals, canonValue(d.value())), append(times, d.iv())
	}
	if d.err != nil {
		return
	}
	if !distinctValues(vals) {
		d.fail("a value twice, or null")
		return
	}
	p, dup := tab.find(a, b)
	if dup {
		d.fail("a key twice")
		return
	}
	c.restoreKey(tab.at(tab.insert(p, a, b)), last, vals, times)
}

// distinctValues reports whether vals are all different and not null.
func distinctValues(vals []stream.Value) bool {
	seen := make(map[stream.Value]struct{}, len(vals))
	for _, v := range vals {
		if _, ok := seen[v]; ok || v.IsNull() {
			return false
		}
		seen[v] = struct{}{}
	}
	return true
}

// restoreKey fills a new entry with values read from a snapshot.
func (c *DistinctCounter) restoreKey(e []int64, last int64, vals []stream.Value, times []int64) {
	e[fLast] = last
	mode := int(vals[0].Kind())
	for _, v := range vals {
		if !rawMode(v.Kind()) || int(v.Kind()) != mode {
			mode = dcInterned
		}
	}
	for i, v := range vals {
		w := v.Int()
		if mode == dcInterned {
			w = int64(c.values.hold(v))
		}
		e[fHead+2*i], e[fHead+2*i+1] = w, times[i]
	}
	setLow(e, dcMeta(len(vals), mode))
}

// header starts a snapshot, whole or an incremental checkpoint's base:
// the watermark and Count.
func (c *DistinctCounter) header() *encoder {
	e := newEncoder(snapDistinct)
	e.iv(c.clk.wm)
	e.iv(c.clk.floor)
	e.uv(uint64(c.cfg.Count))
	return e
}

// fresh returns an empty operator of c's configuration holding the
// header d reads (what header wrote).
func (c *DistinctCounter) fresh(d *decoder) *DistinctCounter {
	n := &DistinctCounter{cfg: c.cfg, within: c.within, clk: c.clk, slots: c.slots, log: c.log}
	n.reset()
	n.clk.wm, n.clk.floor = d.iv(), d.iv()
	if cnt := d.uv(); d.err == nil && cnt != uint64(c.cfg.Count) {
		d.fail("snapshot taken with another Count")
	}
	return n
}
