package window

// Snapshot serialises the watermark, the buffered events and every pair's
// last time, in a deterministic order; in Early mode, then the early
// bookkeeping.
func (n *NewValue) Snapshot() ([]byte, error) {
	e := n.header()
	n.buf.encode(e)
	encodeFlat(e, n.ints, n.other, n.keys, n.encodeKey)
	if n.early != nil {
		n.early.encode(e, n.buf.known)
	}
	return e.b, nil
}

// Restore replaces the state with a snapshot.
func (n *NewValue) Restore(data []byte) error {
	d, err := newDecoder(data, snapNewValue)
	if err != nil {
		return err
	}
	r := n.fresh(d)
	r.buf.dedup.name, r.buf.known = n.cfg.Dedup, n.buf.known
	r.buf.decode(d)
	decodeFlat(d, d.count(), r.ints, r.other, r.keys, r.decodeKey)
	r.early = n.newEarly()
	restoreEarly(d, r.early, n.buf.known, false)
	if err := d.finish(); err != nil {
		return err
	}
	r.stats, r.pub, r.shed = n.stats, n.pub, n.shed
	*n = *r
	n.publish()
	return nil
}

// encodeKey writes the state of the pair en (after its key): its last time.
func (n *NewValue) encodeKey(e *encoder, en []int64) { e.iv(en[fLast]) }

// decodeKey reads what encodeKey wrote into a new entry of pair (a, b) of
// tab.
func (n *NewValue) decodeKey(d *decoder, tab *flatTable, a, b int64) {
	last := d.iv()
	if d.err != nil {
		return
	}
	p, dup := tab.find(a, b)
	if dup {
		d.fail("a pair twice")
		return
	}
	tab.at(tab.insert(p, a, b))[fLast] = last
}

// header starts a snapshot, whole or an incremental checkpoint's base:
// the watermark.
func (n *NewValue) header() *encoder {
	e := newEncoder(snapNewValue)
	e.iv(n.clk.wm)
	e.iv(n.clk.floor)
	return e
}

// fresh returns an empty operator of n's configuration holding the
// header d reads (what header wrote).
func (n *NewValue) fresh(d *decoder) *NewValue {
	r := &NewValue{cfg: n.cfg, clk: n.clk, kf: newKeyFields(n.kf.names), key: newKeyFields(n.cfg.KeyBy), keys: newKeyTable(),
		ints: newFlat(fHead), other: newFlat(fHead), log: n.log}
	r.clk.wm, r.clk.floor = d.iv(), d.iv()
	return r
}
