package enrich

import (
	"sync/atomic"

	"github.com/rulestream/rulestream/stream"
)

// near is a Lookup's direct-mapped memo of cache hits by integer id, in
// front of the shared Cache. A hit there costs one load of a small entry
// instead of formatting the id, hashing it, taking the shard's lock and
// probing a string-keyed map (whose key bytes are one more cache miss).
//
// It serves exactly what the Cache would: an entry is valid only while the
// Cache's epoch, bumped after every change to any shard (store, refresh,
// eviction, invalidation, purge), equals the epoch read before the entry
// was filled from the Cache; it honours the entry's expiry; and a hit
// marks the Cache slot's CLOCK reference bit as a Cache hit does, so
// eviction order is unchanged.
type near struct {
	e    []nearEntry
	mask int64
}

type nearEntry struct {
	id      int64
	rec     *stream.Record
	expires int64
	epoch   uint64 // Cache epoch when filled; 0: empty
	ref     *atomic.Bool
}

// nearSize is the number of memo entries for a cache of capacity entries.
func nearSize(capacity int) int {
	n := 64
	for n < capacity && n < 1<<13 {
		n *= 2
	}
	return n
}

func newNear(capacity int) near {
	n := nearSize(capacity)
	return near{e: make([]nearEntry, n), mask: int64(n - 1)}
}

// get returns the record memoised for id if still valid at now and epoch.
func (n *near) get(id, now int64, epoch uint64) (*stream.Record, bool) {
	e := &n.e[id&n.mask]
	if e.epoch != epoch || e.id != id || e.expires <= now {
		return nil, false
	}
	if !e.ref.Load() {
		e.ref.Store(true)
	}
	return e.rec, true
}

func (n *near) put(id int64, h hit, epoch uint64) {
	n.e[id&n.mask] = nearEntry{id: id, rec: h.rec, expires: h.expires, epoch: epoch, ref: h.ref}
}

// hit is a Cache hit with what near needs to memoise it.
type hit struct {
	rec     *stream.Record
	expires int64
	ref     *atomic.Bool
}

// getHit is shard.get for an id in a scratch buffer that also returns the entry's expiry and
// reference bit; the caller counts hits.
func (s *shard) getHit(id []byte, now int64) (hit, bool) {
	s.mu.RLock()
	v, ok := s.m[string(id)]
	ok = ok && v.expires > now
	var h hit
	if ok {
		r := &s.refs[v.slot]
		if !r.Load() {
			r.Store(true)
		}
		h = hit{rec: v.rec, expires: v.expires, ref: r}
	}
	s.mu.RUnlock()
	return h, ok
}
