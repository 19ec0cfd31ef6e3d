package window

import (
	"fmt"
	"strconv"

	"github.com/rulestream/rulestream/stream"
)

// A key's entry in the flat tables is the table's four words: key, fLast
// (the newest candidate's start) and meta, whose low 32 bits say where the
// candidates are:
//
//   - bit 31 clear: one candidate that matched only step 0 (the common
//     case); its start is fLast and bits 0-30 hold the slot of its event's
//     Fields in s.held;
//   - bit 31 set: bits 0-30 index s.lists, which holds the candidates.
//
// A list holds candidates in order of start, rw = 2(steps-1) words each:
// word 2j is the time of the event matched by step j and word 2j+1 its held
// slot, except word 1, which holds slot 0 | k<<32, k the number of steps
// matched (1 ≤ k < steps).
const (
	seqList    = 1 << 31
	seqSlotBit = 1<<31 - 1
)

func (s *Sequence) live() int             { return s.ints.n + s.other.n }
func (s *Sequence) tables() [2]*flatTable { return [2]*flatTable{s.ints, s.other} }

func runK(run []int64) int { return int(uint64(run[1]) >> 32) }

func runSlot(run []int64, j int) int32 {
	if j == 0 {
		return int32(run[1] & seqSlotBit)
	}
	return int32(run[2*j+1])
}

// step applies one event, in decision order; pk is its key if it is ints.
func (s *Sequence) step(ev *stream.Event, pk *preKey, out *stream.Emitter) {
	s.since++
	s.gen++
	for s.held.live() > maxHeld-s.cfg.MaxMatches-1 && s.live() > 0 {
		s.evictOne() // room for the events this one may hold
	}
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
		s.dk.dirty(tab, s.ints, a, b)
		e := tab.at(tab.insert(p, a, b))
		e[fLast] = ev.Time
		setLow(e, int64(s.held.put(ev.Fields)))
		return
	}
	s.dk.dirty(tab, s.ints, a, b)
	e := tab.at(p)
	list := e[fMeta]&seqList != 0
	var runs []int64
	if list {
		runs = s.lists[e[fMeta]&seqSlotBit]
	} else {
		runs = append(s.tmp[:0], e[fLast], 1<<32|e[fMeta]&seqSlotBit)
		runs = append(runs, s.zeros...)
	}
	rw, n := s.rw, len(runs)/s.rw
	// Candidates that started more than Within ago cannot complete: they
	// are a prefix, the list being in order of start.
	lo, d := sub(ev.Time, int64(s.cfg.Within)), 0
	for ; d < n && runs[d*rw] < lo; d++ {
		s.release(runs[d*rw:])
	}
	done := -1
	for r := d; r < n; r++ {
		if k := runK(runs[r*rw:]); s.test(k, ev) && k+1 == s.steps {
			done = r
			break
		}
	}
	if done >= 0 {
		s.match(ev, runs[done*rw:(done+1)*rw], tab, a, b, out)
		for r := d; r < n; r++ {
			s.release(runs[r*rw:])
		}
		s.store(tab, p, list, runs[:0])
		return
	}
	for r := d; r < n; r++ {
		run := runs[r*rw : (r+1)*rw]
		if k := runK(run); s.test(k, ev) {
			run[2*k], run[2*k+1] = ev.Time, int64(s.held.put(ev.Fields))
			run[1] += 1 << 32
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
		runs = append(runs, ev.Time, 1<<32|int64(s.held.put(ev.Fields)))
		runs = append(runs, s.zeros...)
	}
	if len(runs) == 0 {
		s.stats.Expired++ // its candidates timed out
	}
	s.store(tab, p, list, runs)
}

// store writes back the candidates of the entry at p (list: they were in a
// list), or drops the entry if there are none.
func (s *Sequence) store(tab *flatTable, p uint64, list bool, runs []int64) {
	e := tab.at(p)
	if !list {
		s.tmp = runs[:0] // keep what append grew
	}
	switch m := len(runs) / s.rw; {
	case m == 1 && runK(runs) == 1, m == 0:
		if list {
			s.freeList(e[fMeta] & seqSlotBit)
		}
		if m == 0 {
			s.drop(tab, p)
			return
		}
		e[fLast] = runs[0]
		setLow(e, runs[1]&seqSlotBit)
	default:
		if !list { // runs is s.tmp: copy it
			id := s.newList()
			runs = append(s.lists[id], runs...)
			setLow(e, seqList|id)
		}
		s.lists[e[fMeta]&seqSlotBit] = runs
		e[fLast] = runs[len(runs)-s.rw]
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

// release frees the held events of the candidate that starts run.
func (s *Sequence) release(run []int64) {
	for j := range runK(run) {
		s.held.drop(runSlot(run, j))
	}
}

// forget frees what the entry e holds: held events, list, interned key.
func (s *Sequence) forget(tab *flatTable, e []int64) {
	if id := e[fMeta] & seqSlotBit; e[fMeta]&seqList != 0 {
		l := s.lists[id]
		for r := 0; r < len(l); r += s.rw {
			s.release(l[r:])
		}
		s.freeList(id)
	} else {
		s.held.drop(int32(id))
	}
	s.dk.removed(tab, s.ints, s.keys, e)
	if tab == s.other {
		s.keys.remove(int32(e[fKeyA]))
	}
}

// drop removes the entry at p, whose held events and list are released.
func (s *Sequence) drop(tab *flatTable, p uint64) {
	s.dk.removed(tab, s.ints, s.keys, tab.at(p))
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

// match emits the candidate run (every step matched but the last),
// completed by ev.
func (s *Sequence) match(ev *stream.Event, run []int64, tab *flatTable, a, b int64, out *stream.Emitter) {
	if s.early != nil && s.settle(ev) {
		return
	}
	steps := make([]stream.Matched, s.steps)
	for j := range s.steps - 1 {
		steps[j] = stream.Matched{Time: run[2*j], Fields: s.held.get(runSlot(run, j))}
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
		if s.dk != nil {
			s.dk.reset = true
		}
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
	if e.early > 0 {
		return fmt.Sprintf("keys %d, candidate matches %d, pending events %d, early bookkeeping of keys %d (of these, shed for the memory budget: %d)", e.keys, e.matches, e.pending, e.early, e.shed)
	}
	if e.shed > 0 {
		return fmt.Sprintf("keys %d, candidate matches %d, pending events %d (of these, shed for the memory budget: %d)", e.keys, e.matches, e.pending, e.shed)
	}
	return fmt.Sprintf("keys %d, candidate matches %d, pending events %d", e.keys, e.matches, e.pending)
}

// maxHeld bounds the events held at once: their slots take 31 bits.
const maxHeld = 1<<31 - 1

// heldSlab keeps the Fields of the events candidates matched, in pages (no
// copy and no doubling as it grows), reusing freed slots.
type heldSlab struct {
	pages [][][]stream.Value
	n     int32 // slots ever used
	free  []int32
}

const heldPage = 1 << 12

func (h *heldSlab) live() int { return int(h.n) - len(h.free) }

func (h *heldSlab) put(f []stream.Value) int32 {
	var i int32
	if n := len(h.free); n > 0 {
		i = h.free[n-1]
		h.free = h.free[:n-1]
	} else {
		if int(h.n) == len(h.pages)*heldPage {
			h.pages = append(h.pages, make([][]stream.Value, heldPage))
		}
		i = h.n
		h.n++
	}
	h.pages[i/heldPage][i%heldPage] = f
	return i
}

func (h *heldSlab) get(i int32) []stream.Value { return h.pages[i/heldPage][i%heldPage] }

func (h *heldSlab) drop(i int32) {
	h.pages[i/heldPage][i%heldPage] = nil
	h.free = append(h.free, i)
}
