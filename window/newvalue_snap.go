package window

import (
	"cmp"
	"slices"
)

type nvPair struct {
	other bool
	a, b  int64
	e     []int64
}

// Snapshot serialises the watermark, the buffered events and every pair's
// last time, in a deterministic order; in Early mode, then the early
// bookkeeping.
func (n *NewValue) Snapshot() ([]byte, error) {
	e := newEncoder(snapNewValue)
	e.iv(n.clk.wm)
	e.iv(n.clk.floor)
	n.buf.encode(e)
	pairs := make([]nvPair, 0, n.live())
	for i, tab := range [2]*flatTable{n.ints, n.other} {
		tab.each(func(en []int64) { pairs = append(pairs, nvPair{i == 1, en[fKeyA], en[fKeyB], en}) })
	}
	slices.SortFunc(pairs, func(x, y nvPair) int {
		if c := cmp.Compare(x.e[fLast], y.e[fLast]); c != 0 {
			return c
		}
		if x.other != y.other {
			if x.other {
				return 1
			}
			return -1
		}
		if x.other {
			return n.keys.compare(int32(x.a), int32(y.a))
		}
		return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b))
	})
	e.uv(uint64(len(pairs)))
	for _, p := range pairs {
		if p.other {
			n.keys.writeKey(e, int32(p.a))
		} else {
			e.u8(keyInts)
			e.iv(p.a)
			e.iv(p.b)
		}
		n.encodeKey(e, p.e)
	}
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
	r := &NewValue{cfg: n.cfg, clk: n.clk, kf: newKeyFields(n.kf.names), key: newKeyFields(n.cfg.KeyBy), keys: newKeyTable(),
		ints: newFlat(fHead), other: newFlat(fHead), log: n.log}
	r.clk.wm, r.clk.floor = d.iv(), d.iv()
	r.buf.dedup.name, r.buf.known = n.cfg.Dedup, n.buf.known
	r.buf.decode(d)
	count := d.count()
	for i := 0; i < count && d.err == nil; i++ {
		tab, a, b := r.ints, int64(0), int64(0)
		if d.off < len(d.b) && d.b[d.off] == keyInts {
			d.u8()
			a, b = d.iv(), d.iv()
		} else {
			tab, a = r.other, int64(r.keys.readKey(d))
		}
		if r.decodeKey(d, tab, a, b); d.err != nil {
			break
		}
	}
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
