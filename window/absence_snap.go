package window

import (
	"slices"

	"github.com/rulestream/rulestream/stream"
)

// Snapshot serialises the watermark, the buffered events and the pending
// starts' events in decision order; the keys' chains follow from them.
func (a *Absence) Snapshot() ([]byte, error) {
	e := newEncoder(snapAbsence)
	e.iv(a.clk.wm)
	e.iv(a.clk.floor)
	a.buf.encode(e)
	st := schemaTable{known: a.buf.known}
	e.uv(uint64(a.alive))
	at := a.data.head
	for i := a.recs.head; i < a.recs.tail; i++ {
		r := a.recs.at(i)
		if r.t != absDead {
			a.scratch = slices.Grow(a.scratch[:0], int(r.size))[:r.size]
			a.data.read(a.scratch, at)
			var ev stream.Event
			a.vals = a.codec.decode(view(a.scratch), &ev, a.vals[:0])
			ev.Time = r.t
			e.event(&st, &ev)
		}
		at += uint64(r.size)
	}
	return e.b, nil
}

// Restore replaces the state with a snapshot.
func (a *Absence) Restore(data []byte) error {
	d, err := newDecoder(data, snapAbsence)
	if err != nil {
		return err
	}
	n := &Absence{cfg: a.cfg, within: a.within, clk: a.clk, log: a.log}
	n.reset()
	n.clk.wm, n.clk.floor = d.iv(), d.iv()
	n.buf.dedup.name, n.buf.known = a.cfg.Dedup, a.buf.known
	n.buf.decode(d)
	st := schemaTable{known: n.buf.known}
	starts := d.count()
	prev := int64(stream.MinWatermark)
	for i := 0; i < starts && d.err == nil; i++ {
		ev := d.event(&st)
		if d.err != nil {
			break
		}
		if ev.Time < prev || ev.Time <= -MaxEventTime || ev.Time >= MaxEventTime {
			d.fail("pending start out of order or range")
			break
		}
		if missingKey(n.op(), ev.Schema, n.cfg.KeyBy) != nil {
			d.fail("pending start without its key fields")
			break
		}
		prev = ev.Time
		n.restoreStart(&ev)
	}
	if err := d.finish(); err != nil {
		return err
	}
	n.stats, n.pub, n.shed = a.stats, a.pub, a.shed
	*a = *n
	a.publish()
	return nil
}

// restoreStart queues a pending start read from a snapshot.
func (a *Absence) restoreStart(ev *stream.Event) {
	vals := a.kf.values(ev)
	tab, ka, kb := a.ints, int64(0), int64(0)
	if classify(vals) == keyInts {
		ka = vals[0].Int()
		if len(vals) > 1 {
			kb = vals[1].Int()
		}
	} else {
		s, _ := a.keys.find(vals, true)
		tab, ka = a.other, int64(s)
	}
	p, found := tab.find(ka, kb)
	if !found {
		p = tab.insert(p, ka, kb)
	}
	a.scratch = a.codec.encode(a.scratch[:0], ev)
	a.addStart(tab.at(p), ev.Time)
}
