package window

import (
	"strings"

	"github.com/rulestream/rulestream/stream"
)

type idEntry struct {
	t  int64
	id stream.Value
}

// idSet remembers dedup ids with their event time and forgets them once
// the time falls behind the lateness cutoff (a later delivery would be late
// anyway). Ids queue in arrival order; expiry and eviction take the front,
// so an id that arrived out of order may stay a little longer than needed.
// At most max ids are held: beyond that the front is evicted. Int ids live
// in a map of their own, without hashing a whole Value.
type idSet struct {
	ints      map[int64]int64
	other     map[stream.Value]int64
	q         []idEntry
	head      int
	max       int
	evictions int64
}

func newIDSet(max int) *idSet {
	return &idSet{ints: map[int64]int64{}, other: map[stream.Value]int64{}, max: max}
}

func (s *idSet) len() int { return len(s.ints) + len(s.other) }

// seen reports whether id was seen; if not, it remembers it with time t.
func (s *idSet) seen(id stream.Value, t int64) bool {
	if id.Kind() == stream.KindInt {
		if _, ok := s.ints[id.Int()]; ok {
			return true
		}
	} else if _, ok := s.other[id]; ok {
		return true
	}
	for s.len() >= s.max && s.head < len(s.q) {
		s.pop(true)
	}
	if id.Kind() == stream.KindInt {
		s.ints[id.Int()] = t
	} else {
		if id.Kind() == stream.KindString {
			id = stream.String(strings.Clone(id.Str())) // do not pin the batch
		}
		s.other[id] = t
	}
	s.q = append(s.q, idEntry{t: t, id: id})
	return false
}

// expire forgets ids with time < cut from the front of the queue.
func (s *idSet) expire(cut int64) {
	for s.head < len(s.q) && s.q[s.head].t < cut {
		s.pop(false)
	}
	s.compact()
}

// compact moves the queue to the front of its array once most of it was
// popped.
func (s *idSet) compact() {
	if s.head > 1024 && s.head*2 > len(s.q) {
		n := copy(s.q, s.q[s.head:])
		clear(s.q[n:])
		s.q, s.head = s.q[:n], 0
	}
}

func (s *idSet) pop(evict bool) {
	e := s.q[s.head]
	s.q[s.head] = idEntry{}
	s.head++
	if e.id.Kind() == stream.KindInt {
		if t, ok := s.ints[e.id.Int()]; ok && t == e.t {
			delete(s.ints, e.id.Int())
		} else {
			return
		}
	} else if t, ok := s.other[e.id]; ok && t == e.t {
		delete(s.other, e.id)
	} else {
		return
	}
	if evict {
		s.evictions++
	}
}

// shed forgets the k earliest arrivals, counted as evictions.
func (s *idSet) shed(k int) {
	for n := s.len() - k; s.len() > n && s.head < len(s.q); {
		s.pop(true)
	}
	s.compact()
}

func (s *idSet) encode(e *encoder) {
	e.uv(uint64(len(s.q) - s.head))
	for _, en := range s.q[s.head:] {
		e.value(en.id)
		e.iv(en.t)
	}
}

func (s *idSet) decode(d *decoder) {
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		id, t := d.value(), d.iv()
		if d.err == nil && !s.seen(id, t) {
			continue
		}
		d.fail("duplicate id")
	}
}
