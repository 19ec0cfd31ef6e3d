package window

import (
	"github.com/rulestream/rulestream/stream"
)

// Snapshot serialises the watermark, the buffered events and every key's
// candidates (each matched event's time and fields), in a deterministic
// order: keys by newest start, then key; in Early mode, then the early
// bookkeeping.
func (s *Sequence) Snapshot() ([]byte, error) {
	e := s.header()
	s.buf.encode(e)
	encodeFlat(e, s.ints, s.other, s.keys, s.encodeKey)
	if s.early != nil {
		s.early.encode(e, s.buf.known)
	}
	return e.b, nil
}

// encodeKey writes the candidates of the entry en (after its key): each
// one's matched events' times and fields.
func (s *Sequence) encodeKey(e *encoder, en []int64) {
	s.eachRun(en, func(runs []int64) {
		e.uv(uint64(len(runs) / s.rw))
		for r := 0; r < len(runs); r += s.rw {
			run := runs[r:]
			e.uv(uint64(runK(run)))
			for j := range runK(run) {
				e.iv(run[2*j])
				e.values(s.held.get(runSlot(run, j)))
			}
		}
	})
}

// eachRun calls fn with the candidates of the entry e, in list form.
func (s *Sequence) eachRun(e []int64, fn func(runs []int64)) {
	if e[fMeta]&seqList != 0 {
		fn(s.lists[e[fMeta]&seqSlotBit])
		return
	}
	s.tmp = append(append(s.tmp[:0], e[fLast], 1<<32|e[fMeta]&seqSlotBit), s.zeros...)
	fn(s.tmp)
}

// Restore replaces the state with a snapshot taken with the same
// configuration (the number of steps is checked).
func (s *Sequence) Restore(data []byte) error {
	d, err := newDecoder(data, snapSequence)
	if err != nil {
		return err
	}
	n := s.fresh(d)
	n.buf.dedup.name, n.buf.known = s.cfg.Dedup, s.buf.known
	n.buf.decode(d)
	keys := d.count()
	if keys > n.cfg.MaxKeys {
		d.fail("more keys than MaxKeys")
	}
	decodeFlat(d, keys, n.ints, n.other, n.keys, n.decodeKey)
	n.early = s.newEarly()
	restoreEarly(d, n.early, s.buf.known, false)
	if err := d.finish(); err != nil {
		return err
	}
	n.stats, n.ev, n.pub, n.shed = s.stats, s.ev, s.pub, s.shed
	*s = *n
	s.publish()
	return nil
}

// decodeKey reads what encodeKey wrote into a new entry of key (a, b) of
// tab.
func (s *Sequence) decodeKey(d *decoder, tab *flatTable, a, b int64) {
	cnt := d.uv()
	if d.err != nil {
		return
	}
	p, dup := tab.find(a, b)
	if dup || cnt == 0 || cnt > uint64(s.cfg.MaxMatches) {
		d.fail("bad key state")
		return
	}
	var runs []int64
	for r := 0; r < int(cnt) && d.err == nil; r++ {
		k := d.uv()
		if d.err != nil || k == 0 || k >= uint64(s.steps) {
			d.fail("bad candidate")
			break
		}
		run := make([]int64, s.rw)
		prev := int64(stream.MinWatermark)
		if r > 0 {
			prev = runs[len(runs)-s.rw]
		}
		for j := 0; j < int(k) && d.err == nil; j++ {
			t, fields := d.iv(), d.values()
			if t < prev {
				d.fail("candidate out of order")
				break
			}
			prev = t
			run[2*j], run[2*j+1] = t, int64(s.held.put(fields))
		}
		run[1] |= int64(k) << 32
		runs = append(runs, run...)
	}
	if d.err != nil {
		return
	}
	s.store(tab, tab.insert(p, a, b), false, runs)
}

// header starts a snapshot, whole or an incremental checkpoint's base:
// the watermark and the number of steps.
func (s *Sequence) header() *encoder {
	e := newEncoder(snapSequence)
	e.iv(s.clk.wm)
	e.iv(s.clk.floor)
	e.uv(uint64(s.steps))
	return e
}

// fresh returns an empty operator of s's configuration holding the
// header d reads (what header wrote).
func (s *Sequence) fresh(d *decoder) *Sequence {
	n := &Sequence{cfg: s.cfg, clk: s.clk, log: s.log}
	n.init()
	n.clk.wm, n.clk.floor = d.iv(), d.iv()
	if steps := d.uv(); d.err == nil && steps != uint64(n.steps) {
		d.fail("snapshot taken with another number of steps")
	}
	return n
}
