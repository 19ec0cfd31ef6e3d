package window

import "github.com/rulestream/rulestream/stream"

// SnapshotDelta implements stream.DeltaSnapshotter: the buffered events,
// the keys and the early bookkeeping changed since the last call, as
// entries; the watermark as the base.
func (c *CountWithin) SnapshotDelta(d *stream.DeltaPart) ([]byte, error) {
	if c.dk == nil || c.dk.reset || earlyFull(c.early) {
		d.Full = true
	}
	if d.Full {
		c.ds.full()
	}
	c.buf.deltaOf(d, &c.ds)
	c.dk = flatDelta(d, c.dk, c.ints, c.other, c.keys, c.encodeKey)
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
	if _, err := restoreKeyed(entries, byHash, n.early, "count-within", func(kv stream.KV) error {
		tab, a, b, err := readFlatKey(kv.Key, n.ints, n.other, n.keys)
		if err != nil {
			return err
		}
		d := &decoder{b: kv.Value}
		n.decodeKey(d, tab, a, b)
		return d.finish()
	}); err != nil {
		return err
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
