package window

import "github.com/rulestream/rulestream/stream"

// maxEarlySteps bounds the steps of a sequence in Early mode: a pool
// entry holds the steps its event matches as bits.
const maxEarlySteps = 64

func (s *Sequence) newEarly() *early {
	if !s.cfg.Early {
		return nil
	}
	return newEarly(s.cfg.KeyBy, s.cfg.Dedup, s.cfg.Within, s.cfg.MaxKeys, s.cfg.MaxPending, true, true)
}

// arrive is Early mode's look at an accepted event that matches a step: it
// joins its key's pool (the events arrived, not claimed by an early result
// nor consumed by an event-time match), and the event-time rule runs over
// the pool from Within before it to Within after it. The pool never holds
// a match once an arrival is handled (a match is claimed at once; claims
// and consumption only remove events), so a match found includes this
// event (or, when MaxMatches dropped a candidate the first time, is still
// a match of events that arrived). The first match found goes out, as the
// event-time decision reports it, and claims the pool up to its last event.
func (s *Sequence) arrive(ev *stream.Event, cut int64, out *stream.Emitter) {
	var mask uint64
	for i := range s.steps {
		if s.probe(i, ev) {
			mask |= 1 << i
		}
	}
	if mask == 0 {
		return
	}
	x := s.early
	before := s.stats.Evictions
	k, i, ok := x.arrive(ev, mask, stream.Value{}, cut, &s.stats)
	s.ev.early += s.stats.Evictions - before
	if !ok {
		return
	}
	pool, w := x.ks[k].pool, s.steps-1
	cands, cnt, front := s.ecand[:0], s.ecnt[:0], 0
	defer func() { s.ecand, s.ecnt = cands[:0], cnt[:0] }()
	hi := add(pool[i].t, x.within)
	for p := lower(pool, sub(pool[i].t, x.within)); p < len(pool) && pool[p].t <= hi; p++ {
		e := &pool[p]
		for lim := sub(e.t, x.within); front < len(cnt) && pool[cands[front*w]].t < lim; front++ {
		}
		for r := front; r < len(cnt); r++ {
			if c := cnt[r]; e.aux&(1<<c) != 0 && int(c) == w {
				s.emitEarly(k, cands[r*w:(r+1)*w], p, out)
				x.fire(k, p)
				x.claim(k, p, cut)
				return
			}
		}
		for r := front; r < len(cnt); r++ {
			if c := cnt[r]; e.aux&(1<<c) != 0 {
				cands[r*w+int(c)] = int32(p)
				cnt[r]++
			}
		}
		if e.aux&1 != 0 {
			if len(cnt)-front == s.cfg.MaxMatches {
				front++
			}
			cnt = append(cnt, 1)
			cands = append(cands, int32(p))
			for range w - 1 {
				cands = append(cands, 0)
			}
		}
	}
}

// emitEarly emits the match of the pool entries run (steps 0 to steps-2)
// completed by entry p of key k, as match does.
func (s *Sequence) emitEarly(k int32, run []int32, p int, out *stream.Emitter) {
	x := s.early
	pool := x.ks[k].pool
	steps := make([]stream.Matched, s.steps)
	for j, at := range run {
		steps[j] = stream.Matched{Time: pool[at].t, Fields: x.ev(pool[at].ev).Fields}
	}
	ev := x.ev(pool[p].ev)
	steps[s.steps-1] = stream.Matched{Time: ev.Time, Fields: ev.Fields}
	res := *ev
	res.Window = &stream.WindowInfo{
		Name: s.cfg.Name, Kind: KindSequence, Key: x.keys.keyString(k, len(s.cfg.KeyBy)),
		Start: steps[0].Time, End: ev.Time, Count: int64(s.steps), First: steps[0].Time, Last: ev.Time, Steps: steps,
	}
	s.stats.Early++
	s.stats.Emitted++
	out.Emit(res)
}

// probe reports whether ev matches step i, for Early mode: an error or a
// panic is no match, not counted (the event-time decision counts it).
func (s *Sequence) probe(i int, ev *stream.Event) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	ok, err := s.cfg.Steps[i](ev)
	return ok && err == nil
}

// settle tells whether the event-time result completed by ev went out
// early (confirmed: not emitted again) or not (a correction, emitted).
func (s *Sequence) settle(ev *stream.Event) bool {
	if s.early.settle(ev) {
		s.stats.Confirmed++
		return true
	}
	s.stats.Corrections++
	return false
}
