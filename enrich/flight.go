package enrich

import (
	"context"

	"github.com/rulestream/rulestream/stream"
)

// flight is one fetch of an id in progress. Whoever starts it (the leader)
// fetches; others wait on done.
type flight struct {
	done  chan struct{}
	rec   *stream.Record
	err   error
	gen   uint64 // shard generation when the flight began
	idGen uint64 // id invalidation count when the flight began
}

// lookupOrJoin returns a fresh cached record, or the flight fetching id,
// starting one (leader true) if there is none.
func (c *Cache) lookupOrJoin(id string, now int64) (rec *stream.Record, hit bool, f *flight, leader bool) {
	s := c.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.m[id]; e != nil && e.expires > now {
		return e.rec, true, nil, false
	}
	if f = s.inflight[id]; f != nil {
		return nil, false, f, false
	}
	f = &flight{done: make(chan struct{}), gen: s.gen, idGen: s.gens[id]}
	s.inflight[id] = f
	return nil, false, f, true
}

// land ends a flight led by the caller: it stores the result unless id was
// invalidated meanwhile (the result may predate the change), and wakes the
// waiters. A failed fetch (err != nil) stores nothing.
func (c *Cache) land(id string, f *flight, rec *stream.Record, err error) {
	s := c.shard(id)
	s.mu.Lock()
	if err == nil && s.gen == f.gen && s.gens[id] == f.idGen {
		c.setLocked(s, id, rec, c.clockNow())
	}
	delete(s.inflight, id)
	delete(s.gens, id)
	s.mu.Unlock()
	f.rec, f.err = rec, err
	close(f.done)
}

// wait blocks until f lands or ctx ends.
func (f *flight) wait(ctx context.Context) (*stream.Record, error) {
	select {
	case <-f.done:
		return f.rec, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
