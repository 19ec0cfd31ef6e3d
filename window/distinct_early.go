package window

import "github.com/rulestream/rulestream/stream"

func (c *DistinctCounter) newEarly() *early {
	if !c.cfg.Early {
		return nil
	}
	return newEarly(c.cfg.KeyBy, c.cfg.Dedup, c.cfg.Within, c.cfg.MaxKeys, c.cfg.MaxPending, false, true).withValues()
}

// value is the slot of the value of pool entry j: equal slots, equal
// values.
func (c *DistinctCounter) value(pool []eent, j int) int32 { return int32(pool[j].aux) }

// arrive is Early mode's look at an accepted event with a value: it joins
// its key's pool (the events arrived, not claimed by an early result nor
// consumed by an event-time match), and the windows that end at it and
// after it, up to Within after it, are counted. The pool never holds a
// match once an arrival is handled (a match is claimed at once; claims
// and consumption only remove events), so the first window, in decision
// order, with Count distinct values includes this event; its last event
// brings the count to Count (an earlier value of its would make the window
// before it a match). That match goes out as the event-time decision
// would report it (First: the earliest among the other values' latest
// times) and claims the pool up to its last event.
func (c *DistinctCounter) arrive(ev *stream.Event, cut int64, out *stream.Emitter) {
	v := canonValue(c.efield.get(ev))
	if v.IsNull() {
		return
	}
	x := c.early
	k, i, ok := x.arrive(ev, 0, v, cut, &c.stats)
	if !ok {
		return
	}
	pool, counts := x.ks[k].pool, c.ecount
	defer clear(counts)
	lo := lower(pool[:i], sub(pool[i].t, x.within))
	for m := lo; m <= i; m++ {
		counts[c.value(pool, m)]++
	}
	hi := add(pool[i].t, x.within)
	for j := i; ; {
		if len(counts) >= c.cfg.Count {
			c.emitEarly(k, pool, lo, j, out)
			x.fire(k, j)
			x.claim(k, j, cut)
			return
		}
		if j++; j == len(pool) || pool[j].t > hi {
			return
		}
		counts[c.value(pool, j)]++
		next := lower(pool[lo:j], sub(pool[j].t, x.within)) + lo
		for ; lo < next; lo++ {
			v := c.value(pool, lo)
			if counts[v]--; counts[v] == 0 {
				delete(counts, v)
			}
		}
	}
}

// emitEarly emits the match of pool entries lo to j of key k, completed by
// entry j, as match does.
func (c *DistinctCounter) emitEarly(k int32, pool []eent, lo, j int, out *stream.Emitter) {
	x := c.early
	clear(c.ecount)
	last := c.value(pool, j)
	first := pool[j].t
	for m := j - 1; m >= lo; m-- { // the other values' latest times, newest first
		if v := c.value(pool, m); v != last && c.ecount[v] == 0 {
			c.ecount[v] = 1
			first = pool[m].t
		}
	}
	ev := x.ev(pool[j].ev)
	res := *ev
	res.Window = &stream.WindowInfo{Name: c.cfg.Name, Kind: KindDistinctCount, Key: keyText(x.kf.values(ev)),
		Start: first, End: ev.Time, Count: int64(c.cfg.Count), First: first, Last: ev.Time}
	c.stats.Early++
	c.stats.Emitted++
	out.Emit(res)
}

// settle tells whether the event-time result completed by ev went out
// early (confirmed: not emitted again) or not (a correction, emitted).
func (c *DistinctCounter) settle(ev *stream.Event) bool {
	if c.early.settle(ev) {
		c.stats.Confirmed++
		return true
	}
	c.stats.Corrections++
	return false
}
