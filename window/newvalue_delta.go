package window

import "github.com/rulestream/rulestream/stream"

// SnapshotDelta implements stream.DeltaSnapshotter: the buffered events,
// the (key, value) pairs and the early bookkeeping changed since the last
// call, as entries; the watermark as the base.
func (n *NewValue) SnapshotDelta(d *stream.DeltaPart) ([]byte, error) {
	n.flat().snapshotDelta(d)
	e := n.header()
	return e.b, nil
}

// RestoreDelta implements stream.DeltaSnapshotter.
func (n *NewValue) RestoreDelta(base []byte, entries []stream.KV) error {
	d, err := newDecoder(base, snapNewValue)
	if err != nil {
		return err
	}
	r := n.fresh(d)
	if err := d.finish(); err != nil {
		return err
	}
	r.early = n.newEarly()
	if _, err := r.flat().restoreDelta(entries, n.buf.known, n.cfg.Dedup, "new_value"); err != nil {
		return err
	}
	r.stats, r.pub, r.shed = n.stats, n.pub, n.shed
	*n = *r
	n.publish()
	return nil
}

// flat hands the incremental checkpoint its structures.
func (n *NewValue) flat() flatOp {
	return flatOp{buf: &n.buf, ds: &n.ds, dk: &n.dk, ints: n.ints, other: n.other, keys: n.keys, early: n.early,
		encodeKey: n.encodeKey, decodeKey: n.decodeKey}
}
