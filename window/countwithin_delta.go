package window

import (
	"errors"
	"fmt"

	"github.com/rulestream/rulestream/stream"
)

// SnapshotDelta implements stream.DeltaSnapshotter: the buffered events,
// the keys and the early bookkeeping changed since the last call, as
// entries; the watermark as the base.
func (c *CountWithin) SnapshotDelta(d *stream.DeltaPart) ([]byte, error) {
	if c.dk == nil || c.dk.reset || (c.early != nil && (c.early.dl == nil || c.early.dl.reset)) {
		d.Full = true
	}
	if d.Full {
		c.ds.full()
	}
	c.buf.deltaOf(d, &c.ds)
	if d.Full {
		c.dk = newKeyDelta()
		for i, tab := range c.tables() {
			tab.each(func(en []int64) { c.putKey(d, i == 1, en) })
		}
	} else {
		for s := range c.dk.slots {
			if p, ok := c.other.find(int64(s), 0); ok {
				c.putKey(d, true, c.other.at(p))
			}
		}
		for k := range c.dk.ints {
			if p, ok := c.ints.find(k[0], k[1]); ok {
				c.putKey(d, false, c.ints.at(p))
			} else {
				d.Del(intsKey(entKey, k[0], k[1]))
			}
		}
		for _, k := range c.dk.gone {
			d.Del(k)
		}
		clear(c.dk.slots)
		clear(c.dk.ints)
		c.dk.gone = c.dk.gone[:0]
	}
	if c.early != nil {
		c.early.deltaOf(d, &c.ds)
	}
	c.ds.flush(d)
	e := newEncoder(snapCountWith)
	e.iv(c.clk.wm)
	e.iv(c.clk.floor)
	e.uv(uint64(c.cfg.Count))
	return e.b, nil
}

// putKey puts the entry of a key's stored times.
func (c *CountWithin) putKey(d *stream.DeltaPart, other bool, en []int64) {
	var key []byte
	if other {
		key = slotKey(entKey, c.keys, int32(en[fKeyA]))
	} else {
		key = intsKey(entKey, en[fKeyA], en[fKeyB])
	}
	e := &encoder{}
	e.iv(en[fLast])
	n, head := unmeta(en[fMeta])
	e.uv(uint64(n))
	for i := 0; i < n; i++ {
		e.iv(en[fHead+(head+i)%c.stride])
	}
	d.Put(key, e.b)
}

// RestoreDelta implements stream.DeltaSnapshotter.
func (c *CountWithin) RestoreDelta(base []byte, entries []stream.KV) error {
	d, err := newDecoder(base, snapCountWith)
	if err != nil {
		return err
	}
	n := &CountWithin{cfg: c.cfg, clk: c.clk, kf: newKeyFields(c.cfg.KeyBy), keys: newKeyTable(), stride: c.stride}
	n.ints, n.other = newFlat(fHead+n.stride), newFlat(fHead+n.stride)
	n.clk.wm, n.clk.floor = d.iv(), d.iv()
	if cnt := d.uv(); d.err == nil && cnt != uint64(c.cfg.Count) {
		d.fail("snapshot taken with another Count")
	}
	if err := d.finish(); err != nil {
		return err
	}
	byHash, err := restoredSchemas(entries, c.buf.known)
	if err != nil {
		return err
	}
	n.buf.dedup.name, n.buf.known = c.cfg.Dedup, c.buf.known
	if err := n.buf.restoreDelta(entries, byHash); err != nil {
		return err
	}
	n.early = c.newEarly()
	for _, kv := range entries {
		if len(kv.Key) < 2 {
			continue
		}
		switch kv.Key[0] {
		case entKey:
			err = n.restoreKey(kv)
		case entEarly:
			if n.early == nil {
				return errors.New("count-within: early bookkeeping in a checkpoint of an operator without Early")
			}
			err = n.early.restoreKey(kv, byHash)
		}
		if err != nil {
			return err
		}
	}
	n.dk = newKeyDelta()
	if n.early != nil {
		n.early.dl = newKeyDelta()
	}
	n.ds.restored(byHash)
	n.stats, n.pub, n.shed, n.log = c.stats, c.pub, c.shed, c.log
	*c = *n
	c.publish()
	return nil
}

// restoreKey reads a key's entry.
func (c *CountWithin) restoreKey(kv stream.KV) error {
	kd := &decoder{b: kv.Key, off: 1}
	tab, a, b := c.ints, int64(0), int64(0)
	if kv.Key[1] == keyInts {
		kd.u8()
		a, b = kd.iv(), kd.iv()
	} else {
		tab, a = c.other, int64(c.keys.readKey(kd))
	}
	if err := kd.finish(); err != nil {
		return err
	}
	d := &decoder{b: kv.Value}
	last, cnt := d.iv(), d.uv()
	if d.err != nil {
		return d.err
	}
	p, dup := tab.find(a, b)
	if dup || cnt > uint64(c.stride) || (cnt == 0 && c.stride > 0) {
		return fmt.Errorf("%w: bad key state", ErrCorrupt)
	}
	en := tab.at(tab.insert(p, a, b))
	en[fLast] = last
	setLow(en, meta(int(cnt), 0))
	for j := 0; j < int(cnt); j++ {
		en[fHead+j] = d.iv()
	}
	return d.finish()
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
