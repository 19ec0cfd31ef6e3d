package enrich

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// CacheConfig sets the size and lifetimes of a Cache. Zero values mean the
// defaults.
type CacheConfig struct {
	// MaxEntries bounds the entries held, unknown ids included. When full,
	// an entry not read since the clock hand last passed it is evicted
	// (the CLOCK approximation of LRU). Default 100000.
	MaxEntries int
	// TTL is how long a found record is served without asking Redis again.
	// Default 5m. With an Invalidator, changes are seen sooner.
	TTL time.Duration
	// NegativeTTL is how long an unknown id is remembered as unknown.
	// Default 30s; negative disables negative caching.
	NegativeTTL time.Duration
	// Clock decides expiry. Default: the system clock.
	Clock stream.Clock
}

func (c *CacheConfig) setDefaults() {
	if c.MaxEntries == 0 {
		c.MaxEntries = 100000
	}
	if c.TTL == 0 {
		c.TTL = 5 * time.Minute
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = 30 * time.Second
	}
	if c.Clock == nil {
		c.Clock = stream.SystemClock{}
	}
}

// Validate reports settings that cannot work.
func (c CacheConfig) Validate() error {
	var errs []error
	if c.MaxEntries < 0 {
		errs = append(errs, errors.New("enrich: CacheConfig.MaxEntries must not be negative"))
	}
	if c.TTL < 0 {
		errs = append(errs, errors.New("enrich: CacheConfig.TTL must not be negative"))
	}
	return errors.Join(errs...)
}

// Cache holds records by id for one kind of record (say accounts). It is
// safe for concurrent use and may be shared by several Lookup operators
// reading the same keys: they then also share in-flight fetches.
type Cache struct {
	shards []shard
	mask   uint32
	ttl    int64
	negTTL int64
	clock  stream.Clock
	// hits and misses of Lookup batches, added once per batch
	hits, misses atomic.Int64
	// epoch counts changes to the shards (starting at 1); Lookups' near
	// memos are valid only while it is unchanged. Bumped after the change,
	// under the shard's lock.
	epoch atomic.Uint64
}

// CacheStats counts what a cache did.
type CacheStats struct {
	Hits, Misses, Evictions, Invalidations int64
	Entries                                int
}

// NewCache returns an empty cache.
func NewCache(cfg CacheConfig) (*Cache, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := 16
	for n > 1 && cfg.MaxEntries/n < 64 {
		n /= 2
	}
	c := &Cache{shards: make([]shard, n), mask: uint32(n - 1), ttl: int64(cfg.TTL), negTTL: int64(cfg.NegativeTTL), clock: cfg.Clock}
	for i := range c.shards {
		c.shards[i].init(max(1, cfg.MaxEntries/n))
	}
	c.epoch.Store(1)
	return c, nil
}

func fnv(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

func fnvBytes(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

func (c *Cache) shard(id string) *shard { return &c.shards[fnv(id)&c.mask] }

// Get returns the record cached for id. ok is false on a miss; on a hit rec
// is nil when id is cached as unknown.
func (c *Cache) Get(id string) (rec *stream.Record, ok bool) {
	return c.shard(id).get(id, c.clock.Now().UnixNano())
}

// capacity is the number of entries the cache holds at most.
func (c *Cache) capacity() int { return len(c.shards) * c.shards[0].cap }

// getHit is Get for an id held in a scratch buffer, at time now, returning
// what a near memo needs.
func (c *Cache) getHit(id []byte, now int64) (hit, bool) {
	return c.shards[fnvBytes(id)&c.mask].getHit(id, now)
}

// Set stores rec for id; a nil rec marks id unknown (skipped when negative
// caching is off).
func (c *Cache) Set(id string, rec *stream.Record) {
	s := c.shard(id)
	s.mu.Lock()
	c.setLocked(s, id, rec, c.clock.Now().UnixNano())
	s.mu.Unlock()
}

func (c *Cache) setLocked(s *shard, id string, rec *stream.Record, now int64) {
	ttl := c.ttl
	if rec == nil {
		if c.negTTL < 0 {
			return
		}
		ttl = c.negTTL
	}
	s.put(id, rec, now+ttl)
	c.epoch.Add(1)
}

// Invalidate forgets id, and makes fetches of id already in flight skip
// storing their (possibly stale) result.
func (c *Cache) Invalidate(id string) {
	s := c.shard(id)
	s.mu.Lock()
	s.invalidate(id)
	c.epoch.Add(1)
	s.mu.Unlock()
}

// Purge forgets every entry (for instance after a lost notification link).
func (c *Cache) Purge() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for id := range s.m {
			s.invalidate(id)
		}
		s.gen++
		c.epoch.Add(1)
		s.mu.Unlock()
	}
}

// Stats returns the counters summed over the shards.
func (c *Cache) Stats() CacheStats {
	st := CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load()}
	for i := range c.shards {
		s := &c.shards[i]
		st.Hits += s.hits.Load()
		st.Misses += s.misses.Load()
		s.mu.RLock()
		st.Evictions += s.evictions
		st.Invalidations += s.invalidations
		st.Entries += len(s.m)
		s.mu.RUnlock()
	}
	return st
}

// Len returns the number of entries, expired ones included until evicted.
func (c *Cache) Len() int { return c.Stats().Entries }

// clockNow is the cache clock in unix nanoseconds.
func (c *Cache) clockNow() int64 { return c.clock.Now().UnixNano() }
