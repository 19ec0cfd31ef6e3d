package window

import (
	"fmt"
	"strconv"

	"github.com/rulestream/rulestream/stream"
)

// A key's entry in the flat tables (width fHead + steps-1):
//
//   - one candidate: fLast is its start, the meta word's low bits hold 1
//     and the number k of steps it matched, and the payload holds the held
//     slots of its k matched events;
//   - several: fLast is the newest candidate's start, the meta word holds
//     their number, payload word 0 the index of their list in s.lists.
//
// A list holds the candidates in order of start, rw words each: start, k,
// then the held slots of the k matched events (the rest unused). held[slot]
// is a matched event's time and Fields.
func seqMeta(n, k int) int64              { return int64(n) | int64(k)<<16 }
func seqUnmeta(m int64) (n, k int)        { return int(m & 0xffff), int(m >> 16 & 0xffff) }
func (s *Sequence) live() int             { return s.ints.n + s.other.n }
func (s *Sequence) tables() [2]*flatTable { return [2]*flatTable{s.ints, s.other} }

// step applies one event, in decision order; pk is its key if it is ints.
func (s *Sequence) step(ev *stream.Event, pk *preKey, out *stream.Emitter) {
	s.since++
	s.gen++
	tab, a, b := s.ints, pk.a, pk.b
	if !pk.ok {
		vals := s.kf.values(ev)
		slot, _ := s.keys.find(vals, false)
		if slot < 0 {
			if !s.test(0, ev) {
				return
			}
			slot, _ = s.keys.find(vals, true)
		}
		tab, a, b = s.other, int64(slot), 0
	}
	p, ok := tab.find(a, b)
	if !ok {
		if !s.test(0, ev) {
			return
		}
		if s.live() >= s.cfg.MaxKeys {
			s.evictOne()
			p, _ = tab.find(a, b) // entries may have moved
		}
		e := tab.at(tab.insert(p, a, b))
		e[fLast] = ev.Time
		setLow(e, seqMeta(1, 1))
		e[fHead] = s.hold(ev)
		return
	}
	e := tab.at(p)
	n, k := seqUnmeta(e[fMeta])
	var runs []int64
	if n == 1 {
		runs = append(s.tmp[:0], e[fLast], int64(k))
		runs = append(runs, e[fHead:]...)
	} else {
		runs = s.lists[e[fHead]]
	}
	rw := s.rw
	// Candidates that started more than Within ago cannot complete: they
	// are a prefix, the list being in order of start.
	lo, d := sub(ev.Time, int64(s.cfg.Within)), 0
	for ; d < n && runs[d*rw] < lo; d++ {
		s.release(runs[d*rw:])
	}
	done := -1
	for r := d; r < n; r++ {
		if k := int(runs[r*rw+1]); s.test(k, ev) && k+1 == s.steps {
			done = r
			break
		}
	}
	if done >= 0 {
		s.match(ev, runs[done*rw:(done+1)*rw], tab, a, b, out)
		for r := d; r < n; r++ {
			s.release(runs[r*rw:])
		}
		if n > 1 {
			s.freeList(e[fHead])
		}
		s.drop(tab, p)
		return
	}
	for r := d; r < n; r++ {
		run := runs[r*rw : (r+1)*rw]
		if k := int(run[1]); s.test(k, ev) {
			run[2+k] = s.hold(ev)
			run[1]++
		}
	}
	runs = runs[:copy(runs, runs[d*rw:n*rw])]
	if s.test(0, ev) {
		if len(runs) == s.cfg.MaxMatches*rw {
			s.release(runs)
			runs = runs[:copy(runs, runs[rw:])]
			s.stats.Evictions++
			s.ev.matches++
		}
		runs = append(runs, ev.Time, 1, s.hold(ev))
		runs = append(runs, make([]int64, rw-3)...)
	}
	s.store(tab, p, n, runs)
}

// store writes back the candidates of the entry at p, which held n of them
// (in a list if n > 1).
func (s *Sequence) store(tab *flatTable, p uint64, n int, runs []int64) {
	e := tab.at(p)
	m := len(runs) / s.rw
	if n > 1 && m < 2 {
		s.freeList(e[fHead])
	}
	switch {
	case m == 0:
		s.drop(tab, p)
	case m == 1:
		e[fLast] = runs[0]
		setLow(e, seqMeta(1, int(runs[1])))
		copy(e[fHead:], runs[2:])
	default:
		if n < 2 { // runs is s.tmp: copy it
			id := s.newList()
			e[fHead] = id
			runs = append(s.lists[id], runs...)
		}
		s.lists[e[fHead]] = runs
		e[fLast] = runs[len(runs)-s.rw]
		setLow(e, seqMeta(m, 0))
	}
	if n == 1 && m < 2 {
		s.tmp = runs[:0]
	}
}

// newList returns the index of an empty list.
func (s *Sequence) newList() int64 {
	if n := len(s.freeL); n > 0 {
		id := s.freeL[n-1]
		s.freeL = s.freeL[:n-1]
		return int64(id)
	}
	s.lists = append(s.lists, nil)
	return int64(len(s.lists) - 1)
}

// freeList frees a list, keeping its memory for the next.
func (s *Sequence) freeList(id int64) {
	s.lists[id] = s.lists[id][:0]
	s.freeL = append(s.freeL, int32(id))
}

// hold keeps ev's time and Fields in a free slot and returns the slot.
func (s *Sequence) hold(ev *stream.Event) int64 {
	m := stream.Matched{Time: ev.Time, Fields: ev.Fields}
	if n := len(s.free); n > 0 {
		i := s.free[n-1]
		s.free = s.free[:n-1]
		s.held[i] = m
		return int64(i)
	}
	s.held = append(s.held, m)
	return int64(len(s.held) - 1)
}

// release frees the held slots of the candidate that starts run.
func (s *Sequence) release(run []int64) {
	for _, i := range run[2 : 2+run[1]] {
		s.held[i] = stream.Matched{}
		s.free = append(s.free, int32(i))
	}
}

// forget frees what the entry e holds: held events, list, interned key.
func (s *Sequence) forget(tab *flatTable, e []int64) {
	n, k := seqUnmeta(e[fMeta])
	if n == 1 {
		for _, i := range e[fHead : fHead+k] {
			s.held[i] = stream.Matched{}
			s.free = append(s.free, int32(i))
		}
	} else {
		l := s.lists[e[fHead]]
		for r := 0; r < len(l); r += s.rw {
			s.release(l[r:])
		}
		s.freeList(e[fHead])
	}
	if tab == s.other {
		s.keys.remove(int32(e[fKeyA]))
	}
}

// drop removes the entry at p, whose held events and list are released.
func (s *Sequence) drop(tab *flatTable, p uint64) {
	if tab == s.other {
		s.keys.remove(int32(tab.at(p)[fKeyA]))
	}
	tab.del(p)
}

func (s *Sequence) keyString(tab *flatTable, a, b int64) string {
	if tab == s.other {
		return s.keys.keyString(int32(a), len(s.cfg.KeyBy))
	}
	k := strconv.AppendInt(make([]byte, 0, 24), a, 10)
	if len(s.cfg.KeyBy) > 1 {
		k = append(k, '|')
		k = strconv.AppendInt(k, b, 10)
	}
	return string(k)
}

// match emits the candidate run (its steps but the last matched), completed
// by ev.
func (s *Sequence) match(ev *stream.Event, run []int64, tab *flatTable, a, b int64, out *stream.Emitter) {
	steps := make([]stream.Matched, s.steps)
	for j, i := range run[2 : 2+run[1]] {
		steps[j] = s.held[i]
	}
	steps[s.steps-1] = stream.Matched{Time: ev.Time, Fields: ev.Fields}
	res := *ev
	res.Window = &stream.WindowInfo{
		Name: s.cfg.Name, Kind: KindSequence, Key: s.keyString(tab, a, b),
		Start: run[0], End: ev.Time, Count: int64(s.steps), First: run[0], Last: ev.Time, Steps: steps,
	}
	s.stats.Emitted++
	out.Emit(res)
}

// expire drops keys whose newest candidate started more than Within before
// the release point: no event to come can complete any of them. An
// incremental sweep, as CountWithin's, finds them; at the final watermark
// everything goes.
func (s *Sequence) expire(rp int64, all bool) {
	if all {
		s.stats.Expired += int64(s.live())
		s.init()
		return
	}
	limit := sub(rp, int64(s.cfg.Within))
	for _, tab := range s.tables() {
		budget := 2*s.since + 64 + int(tab.cap()/256)
		s.stats.Expired += int64(tab.sweep(budget, limit, func(e []int64) { s.forget(tab, e) }))
	}
	s.since = 0
}

// evictOne drops, among the next 16 keys at the sweep cursor, the one
// whose newest candidate started first.
func (s *Sequence) evictOne() {
	tab := s.ints
	if tab.n == 0 {
		tab = s.other
	}
	if tab.n == 0 {
		return
	}
	best, seen := uint64(0), 0
	for p := tab.cursor; seen < 16 && seen < tab.n; p = (p + 1) & tab.mask {
		if tab.used(p) {
			if seen == 0 || tab.at(p)[fLast] < tab.at(best)[fLast] {
				best = p
			}
			seen++
		}
	}
	tab.cursor = (best + 1) & tab.mask
	s.forget(tab, tab.at(best))
	tab.del(best)
	s.stats.Evictions++
	s.ev.keys++
}

func (e seqEvictions) String() string {
	return fmt.Sprintf("keys %d, candidate matches %d, pending events %d", e.keys, e.matches, e.pending)
}
