package window

import (
	"fmt"

	"github.com/rulestream/rulestream/stream"
)

// SnapshotDelta implements stream.DeltaSnapshotter: the buffered events,
// the keys' candidates and the early bookkeeping changed since the last
// call, as entries; the watermark as the base.
func (s *Sequence) SnapshotDelta(d *stream.DeltaPart) ([]byte, error) {
	if s.dk == nil || s.dk.reset || earlyFull(s.early) {
		d.Full = true
	}
	if d.Full {
		s.ds.full()
	}
	s.buf.deltaOf(d, &s.ds)
	s.dk = flatDelta(d, s.dk, s.ints, s.other, s.keys, s.encodeKey)
	if s.early != nil {
		s.early.deltaOf(d, &s.ds)
	}
	s.ds.flush(d)
	e := newEncoder(snapSequence)
	e.iv(s.clk.wm)
	e.iv(s.clk.floor)
	e.uv(uint64(s.steps))
	return e.b, nil
}

// RestoreDelta implements stream.DeltaSnapshotter.
func (s *Sequence) RestoreDelta(base []byte, entries []stream.KV) error {
	d, err := newDecoder(base, snapSequence)
	if err != nil {
		return err
	}
	n := &Sequence{cfg: s.cfg, clk: s.clk, log: s.log}
	n.init()
	n.clk.wm, n.clk.floor = d.iv(), d.iv()
	if steps := d.uv(); d.err == nil && steps != uint64(n.steps) {
		d.fail("snapshot taken with another number of steps")
	}
	if err := d.finish(); err != nil {
		return err
	}
	byHash, err := restoredSchemas(entries, s.buf.known)
	if err != nil {
		return err
	}
	n.buf.dedup.name, n.buf.known = s.cfg.Dedup, s.buf.known
	if err := n.buf.restoreDelta(entries, byHash); err != nil {
		return err
	}
	n.early = s.newEarly()
	keys, err := restoreKeyed(entries, byHash, n.early, "sequence", func(kv stream.KV) error {
		tab, a, b, err := readFlatKey(kv.Key, n.ints, n.other, n.keys)
		if err != nil {
			return err
		}
		d := &decoder{b: kv.Value}
		n.decodeKey(d, tab, a, b)
		return d.finish()
	})
	if err != nil {
		return err
	}
	if keys > n.cfg.MaxKeys {
		return fmt.Errorf("%w: sequence: more keys than MaxKeys", ErrCorrupt)
	}
	n.dk = newKeyDelta()
	if n.early != nil {
		n.early.dl = newKeyDelta()
	}
	n.ds.restored(byHash)
	n.stats, n.ev, n.pub, n.shed = s.stats, s.ev, s.pub, s.shed
	*s = *n
	s.publish()
	return nil
}
