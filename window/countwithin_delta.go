package window

import "github.com/rulestream/rulestream/stream"

// SnapshotDelta implements stream.DeltaSnapshotter: the buffered events,
// the keys and the early bookkeeping changed since the last call, as
// entries; the watermark as the base.
func (c *CountWithin) SnapshotDelta(d *stream.DeltaPart) ([]byte, error) {
	c.flat().snapshotDelta(d)
	e := c.header()
	return e.b, nil
}

// RestoreDelta implements stream.DeltaSnapshotter.
func (c *CountWithin) RestoreDelta(base []byte, entries []stream.KV) error {
	d, err := newDecoder(base, snapCountWith)
	if err != nil {
		return err
	}
	n := c.fresh(d)
	if err := d.finish(); err != nil {
		return err
	}
	n.early = c.newEarly()
	if _, err := n.flat().restoreDelta(entries, c.buf.known, c.cfg.Dedup, "count-within"); err != nil {
		return err
	}
	n.stats, n.pub, n.shed, n.log = c.stats, c.pub, c.shed, c.log
	*c = *n
	c.publish()
	return nil
}

// flat hands the incremental checkpoint its structures.
func (c *CountWithin) flat() flatOp {
	return flatOp{buf: &c.buf, ds: &c.ds, dk: &c.dk, ints: c.ints, other: c.other, keys: c.keys, early: c.early,
		encodeKey: c.encodeKey, decodeKey: c.decodeKey}
}
