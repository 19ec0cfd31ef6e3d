package window

import "github.com/rulestream/rulestream/stream"

// SnapshotDelta implements stream.DeltaSnapshotter: the buffered events,
// the (key, value) pairs and the early bookkeeping changed since the last
// call, as entries; the watermark as the base.
func (n *NewValue) SnapshotDelta(d *stream.DeltaPart) ([]byte, error) {
	if n.dk == nil || n.dk.reset || earlyFull(n.early) {
		d.Full = true
	}
	if d.Full {
		n.ds.full()
	}
	n.buf.deltaOf(d, &n.ds)
	n.dk = flatDelta(d, n.dk, n.ints, n.other, n.keys, n.encodeKey)
	if n.early != nil {
		n.early.deltaOf(d, &n.ds)
	}
	n.ds.flush(d)
	e := newEncoder(snapNewValue)
	e.iv(n.clk.wm)
	e.iv(n.clk.floor)
	return e.b, nil
}

// RestoreDelta implements stream.DeltaSnapshotter.
func (n *NewValue) RestoreDelta(base []byte, entries []stream.KV) error {
	d, err := newDecoder(base, snapNewValue)
	if err != nil {
		return err
	}
	r := &NewValue{cfg: n.cfg, clk: n.clk, kf: newKeyFields(n.kf.names), key: newKeyFields(n.cfg.KeyBy), keys: newKeyTable(),
		ints: newFlat(fHead), other: newFlat(fHead), log: n.log}
	r.clk.wm, r.clk.floor = d.iv(), d.iv()
	if err := d.finish(); err != nil {
		return err
	}
	byHash, err := restoredSchemas(entries, n.buf.known)
	if err != nil {
		return err
	}
	r.buf.dedup.name, r.buf.known = n.cfg.Dedup, n.buf.known
	if err := r.buf.restoreDelta(entries, byHash); err != nil {
		return err
	}
	r.early = n.newEarly()
	if _, err := restoreKeyed(entries, byHash, r.early, "new_value", func(kv stream.KV) error {
		tab, a, b, err := readFlatKey(kv.Key, r.ints, r.other, r.keys)
		if err != nil {
			return err
		}
		d := &decoder{b: kv.Value}
		r.decodeKey(d, tab, a, b)
		return d.finish()
	}); err != nil {
		return err
	}
	r.dk = newKeyDelta()
	if r.early != nil {
		r.early.dl = newKeyDelta()
	}
	r.ds.restored(byHash)
	r.stats, r.pub, r.shed = n.stats, n.pub, n.shed
	*n = *r
	n.publish()
	return nil
}
