package enrich

import (
	"context"
	"errors"

	"github.com/rulestream/rulestream/stream"
)

// result is the outcome for one distinct missed id of a batch.
type result struct {
	rec    *stream.Record
	reason string // why rec is nil beyond "not found" (a bad key), or ""
	done   bool
}

// Process joins the record of each event's id. Cache hits cost no Redis
// access; the misses of the batch are fetched in one pipelined round trip.
// While Redis is unreachable Process retries and blocks (backpressure);
// it returns only when every event is resolved or ctx ends.
func (l *Lookup) Process(ctx context.Context, in []stream.Event, out *stream.Emitter) error {
	now := l.cache.clockNow()
	if cap(l.slots) < len(in) {
		l.slots = make([]slot, len(in))
	}
	l.slots = l.slots[:len(in)]
	clear(l.pending)
	l.ids = l.ids[:0]
	hits := int64(0)
	if l.near.e == nil {
		l.near = newNear(l.cache.capacity())
	}
	for i := range in {
		s := &l.slots[i]
		*s = slot{}
		id, isInt := l.intID(&in[i])
		var epoch uint64
		if isInt {
			epoch = l.cache.epoch.Load()
			if rec, ok := l.near.get(id, now, epoch); ok {
				s.rec = rec
				hits++
				continue
			}
		}
		if !l.idOf(&in[i]) {
			s.noID = true
			continue
		}
		if h, ok := l.cache.getHit(l.buf, now); ok {
			if isInt {
				l.near.put(id, h, epoch)
			}
			s.rec = h.rec
			hits++
			continue
		}
		j, ok := l.pending[string(l.buf)]
		if !ok {
			id := string(l.buf)
			j = len(l.ids)
			l.pending[id] = j
			l.ids = append(l.ids, id)
		}
		s.miss = int32(j + 1)
	}
	l.cache.hits.Add(hits)
	l.cache.misses.Add(int64(len(in)) - hits)
	if len(l.ids) > 0 {
		if err := l.resolve(ctx, now); err != nil {
			return err
		}
	}
	for i := range in {
		s := &l.slots[i]
		reason := ""
		if s.miss > 0 {
			r := &l.results[s.miss-1]
			s.rec, reason = r.rec, r.reason
		}
		ev := in[i]
		if s.rec != nil {
			ev.SetJoin(l.cfg.Name, s.rec)
			out.Emit(ev)
			continue
		}
		l.unknown(ev, s, reason, out)
	}
	return nil
}

func (l *Lookup) unknown(ev stream.Event, s *slot, reason string, out *stream.Emitter) {
	switch l.cfg.Unknown {
	case DropUnknown:
		return
	case DeadLetterUnknown:
		if reason == "" {
			if s.noID {
				reason = "no " + l.missing(&ev)
			} else {
				l.idOf(&ev) // the id of a miss, or of a hit cached as unknown
				reason = "no hash " + l.key(string(l.buf))
			}
		}
		out.DeadLetter(stream.EventReject(&ev, "enrich "+l.cfg.Name+": "+reason))
	default:
		ev.SetJoin(l.cfg.Name, nil)
		out.Emit(ev)
	}
}

// resolve fills l.results for l.ids: ids another goroutine is fetching are
// awaited, the rest are fetched here in one pipeline (retrying while Redis
// is unreachable).
func (l *Lookup) resolve(ctx context.Context, now int64) error {
	if cap(l.results) < len(l.ids) {
		l.results = make([]result, len(l.ids))
	}
	l.results = l.results[:len(l.ids)]
	clear(l.results)
	type waiting struct {
		j   int
		ref flightRef
	}
	for left := len(l.ids); left > 0; {
		mine := newFlight()
		var lead []int
		var wait []waiting
		for j, id := range l.ids {
			if l.results[j].done {
				continue
			}
			rec, hit, ref, leader := l.cache.lookupOrJoin(id, now, mine)
			switch {
			case hit:
				l.results[j] = result{rec: rec, done: true}
				left--
			case leader:
				lead = append(lead, j)
			default:
				wait = append(wait, waiting{j, ref})
			}
		}
		if len(lead) > 0 {
			recs, errs, err := l.fetch(ctx, mine.ids)
			l.cache.land(mine, recs, errs, err)
			if err != nil {
				return err
			}
			for k, j := range lead {
				l.results[j] = result{rec: recs[k], done: true}
				if errs[k] != nil {
					l.results[j].reason = errs[k].Error()
				}
				left--
			}
		}
		for _, x := range wait {
			rec, err := x.ref.wait(ctx)
			var ke *KeyError
			switch {
			case err == nil || errors.As(err, &ke):
				l.results[x.j] = result{rec: rec, done: true}
				if err != nil {
					l.results[x.j].reason = err.Error()
				}
				left--
			case ctx.Err() != nil:
				return ctx.Err()
			}
			// otherwise the leader gave up (its ctx ended): fetch it ourselves
		}
		now = l.cache.clockNow()
	}
	return nil
}

// EmitsInArrivalOrder says that a lookup emits each event, joined, in the
// order it took them (stream.ArrivalOrdered).
func (l *Lookup) EmitsInArrivalOrder() bool { return true }
