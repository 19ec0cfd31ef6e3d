package window

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
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
	// Incremental checkpoints: q[i] is at absolute position base+i; the
	// store holds the positions [savedHead, savedTail). track is off
	// before the first.
	base, savedHead, savedTail uint64
	track                      bool
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
		s.base += uint64(s.head)
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

// deltaOf adds the ids remembered and forgotten since the last call to d
// (every id when d.Full, which starts the tracking): the queue's head and
// tail moved, and every position between is an entry.
func (s *idSet) deltaOf(d *stream.DeltaPart) {
	head, tail := s.base+uint64(s.head), s.base+uint64(len(s.q))
	from := max(s.savedTail, head)
	if d.Full || !s.track {
		d.Full, s.track, from = true, true, head
	} else {
		for p := s.savedHead; p < min(head, s.savedTail); p++ {
			d.Del(posKey(entID, p))
		}
	}
	for p := from; p < tail; p++ {
		en := &s.q[p-s.base]
		e := &encoder{}
		e.value(en.id)
		e.iv(en.t)
		d.Put(posKey(entID, p), e.b)
	}
	s.savedHead, s.savedTail = head, tail
}

// restoreDelta remembers the 'i' entries, in queue order (s is empty).
func (s *idSet) restoreDelta(entries []stream.KV) error {
	type queued struct {
		p uint64
		v []byte
	}
	var qs []queued
	for _, kv := range entries {
		if len(kv.Key) == 9 && kv.Key[0] == entID {
			qs = append(qs, queued{binary.BigEndian.Uint64(kv.Key[1:]), kv.Value})
		}
	}
	slices.SortFunc(qs, func(a, b queued) int { return cmp.Compare(a.p, b.p) })
	for i, q := range qs {
		if i > 0 && q.p != qs[i-1].p+1 {
			return fmt.Errorf("%w: dedup: ids at positions %d and %d, none between", ErrCorrupt, qs[i-1].p, q.p)
		}
		d := &decoder{b: q.v}
		id, t := d.value(), d.iv()
		if err := d.finish(); err != nil {
			return err
		}
		if s.seen(id, t) {
			return fmt.Errorf("%w: dedup: an id twice", ErrCorrupt)
		}
	}
	if len(qs) > 0 {
		s.base = qs[0].p
	}
	s.track, s.savedHead, s.savedTail = true, s.base, s.base+uint64(len(s.q))
	return nil
}
