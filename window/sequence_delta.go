package window

import (
	"fmt"

	"github.com/rulestream/rulestream/stream"
)

// SnapshotDelta implements stream.DeltaSnapshotter: the buffered events,
// the keys' candidates and the early bookkeeping changed since the last
// call, as entries; the watermark as the base.
func (s *Sequence) SnapshotDelta(d *stream.DeltaPart) ([]byte, error) {
	s.flat().snapshotDelta(d)
	e := s.header()
	return e.b, nil
}

// RestoreDelta implements stream.DeltaSnapshotter.
func (s *Sequence) RestoreDelta(base []byte, entries []stream.KV) error {
	d, err := newDecoder(base, snapSequence)
	if err != nil {
		return err
	}
	n := s.fresh(d)
	if err := d.finish(); err != nil {
		return err
	}
	n.early = s.newEarly()
	keys, err := n.flat().restoreDelta(entries, s.buf.known, s.cfg.Dedup, "sequence")
	if err != nil {
		return err
	}
	if keys > n.cfg.MaxKeys {
		return fmt.Errorf("%w: sequence: more keys than MaxKeys", ErrCorrupt)
	}
	n.stats, n.ev, n.pub, n.shed = s.stats, s.ev, s.pub, s.shed
	*s = *n
	s.publish()
	return nil
}

// flat hands the incremental checkpoint its structures.
func (s *Sequence) flat() flatOp {
	return flatOp{buf: &s.buf, ds: &s.ds, dk: &s.dk, ints: s.ints, other: s.other, keys: s.keys, early: s.early,
		encodeKey: s.encodeKey, decodeKey: s.decodeKey}
}
