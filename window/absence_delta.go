package window

import (
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/rulestream/rulestream/stream"
)

// absDelta tracks the queue's records by arrival sequence, which, unlike
// their positions, compaction keeps: a pending start is an 'a' entry, put
// once and removed when it fires, is cancelled or is dropped.
type absDelta struct {
	seqs  chunkFIFO[uint64] // each record's sequence, at its position in recs
	next  uint64            // the next record's
	saved uint64            // records below were put
	gone  []uint64          // put records dead since
}

// died records that the pending start at position pos is about to die.
func (a *Absence) died(pos uint64) {
	if a.dl == nil {
		return
	}
	if n := *a.dl.seqs.at(pos); n < a.dl.saved {
		a.dl.gone = append(a.dl.gone, n)
	}
}

// SnapshotDelta implements stream.DeltaSnapshotter: the buffered events
// and the pending starts queued or gone since the last call, as entries;
// the watermark as the base.
func (a *Absence) SnapshotDelta(d *stream.DeltaPart) ([]byte, error) {
	if a.dl == nil {
		d.Full = true
	}
	if d.Full {
		a.ds.full()
	}
	a.buf.deltaOf(d, &a.ds)
	from, at := a.recs.head, a.data.head
	if d.Full {
		dl := &absDelta{seqs: newChunkFIFO[uint64](absRecShift)}
		dl.seqs.startAt(a.recs.head)
		for range a.recs.len() {
			dl.seqs.push(dl.next)
			dl.next++
		}
		a.dl = dl
	} else {
		for _, n := range a.dl.gone {
			d.Del(posKey(entStart, n))
		}
		from, at = a.recs.tail, a.data.tail
		for from > a.recs.head && *a.dl.seqs.at(from - 1) >= a.dl.saved {
			from--
			at -= uint64(a.recs.at(from).size)
		}
	}
	st := schemaTable{hashed: &a.ds}
	for i := from; i < a.recs.tail; i++ {
		r := a.recs.at(i)
		if r.t != absDead {
			e := &encoder{}
			e.event(&st, a.startEvent(r, at))
			d.Put(posKey(entStart, *a.dl.seqs.at(i)), e.b)
		}
		at += uint64(r.size)
	}
	a.dl.saved, a.dl.gone = a.dl.next, a.dl.gone[:0]
	a.ds.flush(d)
	e := newEncoder(snapAbsence)
	e.iv(a.clk.wm)
	e.iv(a.clk.floor)
	return e.b, nil
}

// startEvent returns the event of the pending start r, packed at position
// at of data (its strings are a.scratch's: encode it before the next call).
func (a *Absence) startEvent(r *absRec, at uint64) *stream.Event {
	a.scratch = slices.Grow(a.scratch[:0], int(r.size))[:r.size]
	a.data.read(a.scratch, at)
	var ev stream.Event
	a.vals = a.codec.decode(view(a.scratch), &ev, a.vals[:0])
	ev.Time = r.t
	return &ev
}

// RestoreDelta implements stream.DeltaSnapshotter.
func (a *Absence) RestoreDelta(base []byte, entries []stream.KV) error {
	d, err := newDecoder(base, snapAbsence)
	if err != nil {
		return err
	}
	n := &Absence{cfg: a.cfg, within: a.within, clk: a.clk, log: a.log}
	n.reset()
	n.clk.wm, n.clk.floor = d.iv(), d.iv()
	if err := d.finish(); err != nil {
		return err
	}
	byHash, err := n.buf.restoreDelta(entries, a.buf.known, a.cfg.Dedup)
	if err != nil {
		return err
	}
	type start struct {
		n uint64
		v []byte
	}
	var starts []start
	for _, kv := range entries {
		if len(kv.Key) == 9 && kv.Key[0] == entStart {
			starts = append(starts, start{binary.BigEndian.Uint64(kv.Key[1:]), kv.Value})
		}
	}
	slices.SortFunc(starts, func(x, y start) int { return cmp.Compare(x.n, y.n) })
	dl := &absDelta{seqs: newChunkFIFO[uint64](absRecShift)}
	dl.seqs.startAt(n.recs.tail)
	prev := int64(stream.MinWatermark)
	for _, s := range starts {
		d, st := entryDecoder(s.v, byHash)
		ev := d.event(st)
		if d.err == nil && (ev.Time < prev || ev.Time <= -MaxEventTime || ev.Time >= MaxEventTime) {
			d.fail("pending start out of order or range")
		}
		if d.err == nil && missingKey(n.op(), ev.Schema, n.cfg.KeyBy) != nil {
			d.fail("pending start without its key fields")
		}
		if err := d.finish(); err != nil {
			return err
		}
		prev = ev.Time
		n.restoreStart(&ev)
		dl.seqs.push(s.n)
		dl.next = s.n + 1
	}
	dl.saved, n.dl = dl.next, dl
	n.ds.restored(byHash)
	n.stats, n.pub, n.shed = a.stats, a.pub, a.shed
	*a = *n
	a.publish()
	return nil
}
