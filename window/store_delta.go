package window

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/rulestream/rulestream/stream"
)

// Time and session windows checkpoint incrementally a 'k' entry per key,
// holding its live windows, and the dedup ids ('i'); the watermark is in
// the base.

// deltaOf adds to d the windows of the keys changed since the last call
// (of every key when d.Full, which starts the tracking) and the dedup ids'
// change.
func (b *base) deltaOf(d *stream.DeltaPart) {
	if b.dk == nil || (b.ids != nil && !b.ids.track) {
		d.Full = true
	}
	if b.ids != nil {
		b.ids.deltaOf(d)
	}
	put := func(s int32) {
		if int(s) >= len(b.refs) || b.refs[s] == 0 || b.keys.kind[s] == keyFree {
			return
		}
		e := &encoder{}
		b.encodeKey(e, s)
		d.Put(slotKey(entKey, b.keys, s), e.b)
	}
	if d.Full {
		b.dk = newKeyDelta()
		for s := range int32(b.keys.slots()) {
			put(s)
		}
		return
	}
	for s := range b.dk.slots {
		put(s)
	}
	for _, k := range b.dk.gone {
		d.Del(k)
	}
	clear(b.dk.slots)
	b.dk.gone = b.dk.gone[:0]
}

// encodeKey writes the live windows of key s, by start.
func (b *base) encodeKey(e *encoder, s int32) {
	var ws []int32
	for i := b.head[s]; i >= 0; i = b.wins[i].next {
		ws = append(ws, i)
	}
	slices.SortFunc(ws, func(x, y int32) int { return cmp.Compare(b.wins[x].start, b.wins[y].start) })
	e.uv(uint64(len(ws)))
	for _, i := range ws {
		b.encodeWin(e, i)
	}
}

// restoreDelta reads the entries into an empty base (the watermark is
// the caller's), in the order decode reads a snapshot: keys in key order,
// each one's windows by start; add is decode's.
func (b *base) restoreDelta(entries []stream.KV, add func(d *decoder, i int32)) error {
	if b.ids != nil {
		b.ids.max = int(^uint(0) >> 1) // restore everything, then apply the bound
		if err := b.ids.restoreDelta(entries); err != nil {
			return err
		}
		b.ids.max = b.cfg.MaxIDs
	}
	type keyed struct {
		s int32
		v []byte
	}
	var ks []keyed
	for _, kv := range entries {
		if len(kv.Key) < 2 || kv.Key[0] != entKey {
			continue
		}
		live := b.keys.live
		kd := &decoder{b: kv.Key, off: 1}
		s := b.keys.readKey(kd)
		if err := kd.finish(); err != nil {
			return err
		}
		if b.keys.live == live {
			return fmt.Errorf("%w: %s %s: a key twice", ErrCorrupt, b.kind, b.name)
		}
		ks = append(ks, keyed{s, kv.Value})
	}
	slices.SortFunc(ks, func(x, y keyed) int { return b.keys.compare(x.s, y.s) })
	for _, k := range ks {
		d := &decoder{b: k.v}
		n := d.count()
		if n == 0 {
			d.fail("a key without windows")
		}
		for j := 0; j < n && d.err == nil; j++ {
			if i := b.decodeWin(d, k.s); i >= 0 {
				add(d, i)
			}
		}
		if err := d.finish(); err != nil {
			return err
		}
	}
	b.dk = newKeyDelta()
	return nil
}

// SnapshotDelta implements stream.DeltaSnapshotter: the windows of the
// keys changed since the last call and the dedup ids, as entries; the
// watermark as the base.
func (t *TimeWindows) SnapshotDelta(d *stream.DeltaPart) ([]byte, error) {
	t.deltaOf(d)
	e := newEncoder(snapTime)
	e.iv(t.size)
	e.iv(t.slide)
	e.iv(t.offset)
	e.iv(t.clk.wm)
	return e.b, nil
}

// RestoreDelta implements stream.DeltaSnapshotter.
func (t *TimeWindows) RestoreDelta(base []byte, entries []stream.KV) error {
	d, err := newDecoder(base, snapTime)
	if err != nil {
		return err
	}
	if d.iv() != t.size || d.iv() != t.slide || d.iv() != t.offset {
		d.fail("snapshot of windows of another size, slide or offset")
	}
	n := &TimeWindows{base: t.fresh(), lateness: t.lateness, size: t.size, slide: t.slide, offset: t.offset}
	n.clk.wm = d.iv()
	if err := d.finish(); err != nil {
		return err
	}
	if err := n.restoreDelta(entries, n.check); err != nil {
		return err
	}
	n.stats = t.stats
	*t = *n
	t.publish()
	return nil
}

// SnapshotDelta implements stream.DeltaSnapshotter: the sessions of the
// keys changed since the last call and the dedup ids, as entries; the
// watermark as the base.
func (s *Sessions) SnapshotDelta(d *stream.DeltaPart) ([]byte, error) {
	s.deltaOf(d)
	e := newEncoder(snapSession)
	e.iv(s.gap)
	e.iv(s.clk.wm)
	return e.b, nil
}

// RestoreDelta implements stream.DeltaSnapshotter.
func (s *Sessions) RestoreDelta(base []byte, entries []stream.KV) error {
	d, err := newDecoder(base, snapSession)
	if err != nil {
		return err
	}
	if d.iv() != s.gap {
		d.fail("snapshot of sessions with another gap")
	}
	n := &Sessions{base: s.fresh(), lateness: s.lateness, gap: s.gap}
	n.clk.wm = d.iv()
	if err := d.finish(); err != nil {
		return err
	}
	if err := n.restoreDelta(entries, n.index); err != nil {
		return err
	}
	n.stats = s.stats
	*s = *n
	s.publish()
	s.onKill = s.unindex
	return nil
}
