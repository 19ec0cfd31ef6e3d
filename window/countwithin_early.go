package window

import "github.com/rulestream/rulestream/stream"

// arrive is Early mode's look at an accepted event: if the events of its
// key that have arrived, not claimed by an earlier early result nor
// consumed by an event-time match, now hold Count events within Within,
// the match goes out at once.
//
// Without AllowOverlap the pool never holds a match once an arrival is
// handled (a match is claimed at once, and claiming or consuming only
// removes events), so any match includes ev: it is the first entry j from
// ev on, in decision order, whose Within before it holds Count entries,
// and exactly Count of them. The result is the one the event-time decision
// gives that match: a copy of entry j with First = the time of the
// Count-th entry back from it. Every entry up to j is claimed (skip past
// last event).
//
// With AllowOverlap nothing is claimed: every entry from ev on whose
// Within before it now holds Count entries fires (once), its First the
// time of the Count-th entry back, as the event-time decision would.
func (c *CountWithin) arrive(ev *stream.Event, cut int64, out *stream.Emitter) {
	x := c.early
	s, i, ok := x.arrive(ev, 0, stream.Value{}, cut, &c.stats)
	if !ok {
		return
	}
	pool, n := x.ks[s].pool, c.cfg.Count
	last := add(ev.Time, x.within)
	for j := i; j < len(pool) && pool[j].t <= last; j++ {
		e := &pool[j]
		if e.fired {
			continue
		}
		lo := lower(pool[:j], sub(e.t, x.within))
		if j-lo+1 < n {
			continue
		}
		c.emitEarly(s, x.ev(e.ev), pool[j-n+1].t, out)
		x.fire(s, j)
		if x.claims {
			x.claim(s, j, cut)
			return
		}
	}
}

func (c *CountWithin) emitEarly(s int32, ev *stream.Event, first int64, out *stream.Emitter) {
	res := *ev
	res.Window = &stream.WindowInfo{
		Name: c.cfg.Name, Kind: KindCountWithin, Key: c.early.keys.keyString(s, len(c.cfg.KeyBy)),
		Start: first, End: ev.Time, Count: int64(c.cfg.Count), First: first, Last: ev.Time,
	}
	c.stats.Early++
	c.stats.Emitted++
	out.Emit(res)
}

// settle tells whether the event-time result completed by ev went out
// early (confirmed: not emitted again) or not (a correction, emitted).
func (c *CountWithin) settle(ev *stream.Event) bool {
	if c.early.settle(ev) {
		c.stats.Confirmed++
		return true
	}
	c.stats.Corrections++
	return false
}
