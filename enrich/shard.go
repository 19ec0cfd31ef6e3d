package enrich

import (
	"sync"
	"sync/atomic"

	"github.com/rulestream/rulestream/stream"
)

// entry is one cached record. rec and expires change only under the shard's
// write lock; ref is set by readers.
type entry struct {
	id      string
	rec     *stream.Record
	expires int64
	ref     atomic.Bool
}

// shard is a part of a Cache: a map, a ring of at most cap entries swept by
// a clock hand for eviction, the fetches in flight, and a generation that
// invalidations bump.
type shard struct {
	mu       sync.RWMutex
	m        map[string]*entry
	ring     []*entry
	hand     int
	cap      int
	inflight map[string]flightRef
	gens     map[string]uint64 // per-id invalidation counts while fetches are in flight
	gen      uint64            // bumped by Purge

	evictions, invalidations int64
	hits, misses             atomic.Int64
	_                        [32]byte // keep shards on separate cache lines
}

func (s *shard) init(capacity int) {
	s.cap = capacity
	s.m = make(map[string]*entry, min(capacity, 1024))
	s.inflight = make(map[string]flightRef)
	s.gens = make(map[string]uint64)
}

func (s *shard) get(id string, now int64) (*stream.Record, bool) {
	s.mu.RLock()
	e := s.m[id]
	var rec *stream.Record
	ok := e != nil && e.expires > now
	if ok {
		rec = e.rec
		if !e.ref.Load() {
			e.ref.Store(true)
		}
	}
	s.mu.RUnlock()
	s.count(ok)
	return rec, ok
}

// getBytes is get for an id in a scratch buffer; the caller counts hits.
func (s *shard) getBytes(id []byte, now int64) (*stream.Record, bool) {
	s.mu.RLock()
	e := s.m[string(id)]
	var rec *stream.Record
	ok := e != nil && e.expires > now
	if ok {
		rec = e.rec
		if !e.ref.Load() {
			e.ref.Store(true)
		}
	}
	s.mu.RUnlock()
	return rec, ok
}

func (s *shard) count(hit bool) {
	if hit {
		s.hits.Add(1)
	} else {
		s.misses.Add(1)
	}
}

// put stores an entry; the caller holds the write lock.
func (s *shard) put(id string, rec *stream.Record, expires int64) {
	if e := s.m[id]; e != nil {
		e.rec, e.expires = rec, expires
		return
	}
	e := &entry{id: id, rec: rec, expires: expires}
	s.m[id] = e
	if len(s.ring) < s.cap {
		s.ring = append(s.ring, e)
		return
	}
	for {
		old := s.ring[s.hand]
		live := s.m[old.id] == old
		if live && old.ref.Swap(false) {
			s.hand = (s.hand + 1) % len(s.ring)
			continue
		}
		if live {
			delete(s.m, old.id)
			s.evictions++
		}
		s.ring[s.hand] = e
		s.hand = (s.hand + 1) % len(s.ring)
		return
	}
}

// invalidate drops id; the caller holds the write lock.
func (s *shard) invalidate(id string) {
	if _, ok := s.m[id]; ok {
		delete(s.m, id)
		s.invalidations++
	}
	if _, ok := s.inflight[id]; ok {
		s.gens[id]++
	}
}
