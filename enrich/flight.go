package enrich

import (
	"context"

	"github.com/rulestream/rulestream/stream"
)

// flight is one pipelined fetch in progress, of all the ids a batch leads.
// Other callers wanting one of those ids wait on done instead of fetching.
type flight struct {
	done   chan struct{}
	ids    []string
	gens   []uint64 // shard generation of each id when the flight began
	idGens []uint64 // invalidation count of each id when the flight began
	recs   []*stream.Record
	errs   []error // per id: a *KeyError, or nil
	err    error   // the whole fetch failed (its ctx ended)
}

func newFlight() *flight { return &flight{done: make(chan struct{})} }

// flightRef names one id of a flight.
type flightRef struct {
	f *flight
	i int
}

// lookupOrJoin returns a fresh cached record, or the flight fetching id. If
// no flight fetches id, it is added to mine (and leader is true): the caller
// must fetch it and call land(mine).
func (c *Cache) lookupOrJoin(id string, now int64, mine *flight) (rec *stream.Record, hit bool, ref flightRef, leader bool) {
	s := c.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[id]; ok && v.expires > now {
		return v.rec, true, flightRef{}, false
	}
	if r, ok := s.inflight[id]; ok {
		return nil, false, r, false
	}
	ref = flightRef{f: mine, i: len(mine.ids)}
	mine.ids = append(mine.ids, id)
	mine.gens = append(mine.gens, s.gen)
	mine.idGens = append(mine.idGens, s.gens[id])
	s.inflight[id] = ref
	return nil, false, ref, true
}

// land ends a flight led by the caller: it stores each result unless its id
// was invalidated meanwhile (the result may predate the change), and wakes
// the waiters. Failed fetches store nothing.
func (c *Cache) land(f *flight, recs []*stream.Record, errs []error, err error) {
	f.recs, f.errs, f.err = recs, errs, err
	now := c.clockNow()
	for i, id := range f.ids {
		s := c.shard(id)
		s.mu.Lock()
		if err == nil && errs[i] == nil && s.gen == f.gens[i] && s.gens[id] == f.idGens[i] {
			c.setLocked(s, id, recs[i], now)
		}
		delete(s.inflight, id)
		delete(s.gens, id)
		s.mu.Unlock()
	}
	close(f.done)
}

// wait blocks until the flight lands or ctx ends, and returns the result
// for the id r names.
func (r flightRef) wait(ctx context.Context) (*stream.Record, error) {
	select {
	case <-r.f.done:
		if r.f.err != nil {
			return nil, r.f.err
		}
		return r.f.recs[r.i], r.f.errs[r.i]
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
