package enrich

import (
	"sync"
	"sync/atomic"

	"github.com/rulestream/rulestream/stream"
)

// slotVal is a cached record, held inline in the shard's map (no pointer
// to chase on a hit). slot is its place in the ring.
type slotVal struct {
	rec     *stream.Record
	expires int64
	slot    int32
}

// shard is a part of a Cache: a map, a ring of at most cap ids swept by a
// clock hand for eviction (refs marks the slots read since the hand last
// passed), the fetches in flight, and generations that invalidations bump.
type shard struct {
	mu       sync.RWMutex
	m        map[string]slotVal
	ring     []string
	refs     []atomic.Bool
	hand     int
	cap      int
	inflight map[string]flightRef
	gens     map[string]uint64 // per-id invalidation counts while fetches are in flight
	gen      uint64            // bumped by Purge

	evictions, invalidations int64
	hits, misses             atomic.Int64
	_                        [40]byte // keep shards' hot words on separate cache lines
}

func (s *shard) init(capacity int) {
	s.cap = capacity
	s.m = make(map[string]slotVal, min(capacity, 1024))
	s.refs = make([]atomic.Bool, capacity)
	s.inflight = make(map[string]flightRef)
	s.gens = make(map[string]uint64)
}

func (s *shard) get(id string, now int64) (*stream.Record, bool) {
	s.mu.RLock()
	v, ok := s.m[id]
	ok = ok && v.expires > now
	if ok {
		if r := &s.refs[v.slot]; !r.Load() {
			r.Store(true)
		}
	}
	s.mu.RUnlock()
	s.count(ok)
	if !ok {
		return nil, false
	}
	return v.rec, true
}

func (s *shard) count(hit bool) {
	if hit {
		s.hits.Add(1)
	} else {
		s.misses.Add(1)
	}
}

// put stores a record; the caller holds the write lock.
func (s *shard) put(id string, rec *stream.Record, expires int64) {
	if v, ok := s.m[id]; ok {
		s.m[id] = slotVal{rec: rec, expires: expires, slot: v.slot}
		return
	}
	var slot int
	if len(s.ring) < s.cap {
		slot = len(s.ring)
		s.ring = append(s.ring, id)
	} else {
		for {
			old := s.ring[s.hand]
			v, live := s.m[old]
			live = live && int(v.slot) == s.hand
			if live && s.refs[s.hand].Swap(false) {
				s.hand = (s.hand + 1) % len(s.ring)
				continue
			}
			if live {
				delete(s.m, old)
				s.evictions++
			}
			slot = s.hand
			s.ring[slot] = id
			s.hand = (s.hand + 1) % len(s.ring)
			break
		}
	}
	s.refs[slot].Store(false)
	s.m[id] = slotVal{rec: rec, expires: expires, slot: int32(slot)}
}

// invalidate drops id (its ring slot is reused later); the caller holds the
// write lock.
func (s *shard) invalidate(id string) {
	if _, ok := s.m[id]; ok {
		delete(s.m, id)
		s.invalidations++
	}
	if _, ok := s.inflight[id]; ok {
		s.gens[id]++
	}
}
