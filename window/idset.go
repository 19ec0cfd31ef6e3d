package window

import (
	"strings"

	"github.com/rulestream/rulestream/stream"
)

type idEntry struct {
	t  int64
	id stream.Value
}

// idSet remembers dedup ids with their event time, forgets them once the
// time falls behind the lateness cutoff (a later delivery would be late
// anyway) and holds at most max ids, evicting the oldest times first.
type idSet struct {
	m         map[stream.Value]int64
	h         []idEntry // min-heap on t
	max       int
	evictions int64
}

func newIDSet(max int) *idSet { return &idSet{m: map[stream.Value]int64{}, max: max} }

// seen reports whether id was seen; if not, it remembers it with time t.
func (s *idSet) seen(id stream.Value, t int64) bool {
	if _, ok := s.m[id]; ok {
		return true
	}
	for len(s.m) >= s.max && len(s.h) > 0 {
		s.pop(true)
	}
	if id.Kind() == stream.KindString {
		id = stream.String(strings.Clone(id.Str())) // do not pin the batch
	}
	s.m[id] = t
	s.push(idEntry{t: t, id: id})
	return false
}

// expire forgets ids with time < cut.
func (s *idSet) expire(cut int64) {
	for len(s.h) > 0 && s.h[0].t < cut {
		s.pop(false)
	}
}

func (s *idSet) pop(evict bool) {
	top := s.h[0]
	n := len(s.h) - 1
	s.h[0] = s.h[n]
	s.h[n] = idEntry{}
	s.h = s.h[:n]
	s.down(0)
	if t, ok := s.m[top.id]; ok && t == top.t {
		delete(s.m, top.id)
		if evict {
			s.evictions++
		}
	}
}

func (s *idSet) push(e idEntry) {
	s.h = append(s.h, e)
	i := len(s.h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s.h[p].t <= s.h[i].t {
			break
		}
		s.h[p], s.h[i] = s.h[i], s.h[p]
		i = p
	}
}

func (s *idSet) down(i int) {
	n := len(s.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && s.h[r].t < s.h[l].t {
			m = r
		}
		if s.h[i].t <= s.h[m].t {
			return
		}
		s.h[i], s.h[m] = s.h[m], s.h[i]
		i = m
	}
}

func (s *idSet) encode(e *encoder) {
	e.uv(uint64(len(s.m)))
	for _, en := range s.h {
		if t, ok := s.m[en.id]; ok && t == en.t {
			e.value(en.id)
			e.iv(en.t)
		}
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
