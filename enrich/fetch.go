package enrich

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/stream"
)

// KeyError is a Redis error about one key (say WRONGTYPE: the key is not a
// hash). The event is treated as having an unknown id, with this reason;
// nothing is cached.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return "redis key " + e.Key + ": " + e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// fetch reads ids in one pipeline, retrying with backoff while Redis is
// unreachable. It fails only when ctx ends. recs[k] is nil for an unknown
// id; errs[k] is a *KeyError for a key Redis refused.
func (l *Lookup) fetch(ctx context.Context, ids []string) ([]*stream.Record, []error, error) {
	for attempt := 0; ; attempt++ {
		recs, errs, err := l.fetchOnce(ctx, ids)
		if err == nil {
			l.setHealthy()
			return recs, errs, nil
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		l.setDegraded(err, attempt)
		if err := l.sleep(ctx, l.cfg.Backoff.delay(attempt)); err != nil {
			return nil, nil, err
		}
	}
}

func (l *Lookup) sleep(ctx context.Context, d time.Duration) error {
	tick, stop := l.cfg.Clock.NewTicker(d)
	defer stop()
	select {
	case <-tick:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Lookup) fetchOnce(ctx context.Context, ids []string) ([]*stream.Record, []error, error) {
	pipe := l.client.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(ids))
	n := len(l.fieldArgs)
	args := make([]any, len(ids)*(2+n)) // one allocation for every command's arguments
	keys := make([]string, len(ids))    // passed as pointers: no boxing allocation
	for k, id := range ids {
		keys[k] = l.key(id)
		a := args[k*(2+n) : (k+1)*(2+n) : (k+1)*(2+n)]
		a[0], a[1] = "hmget", &keys[k]
		copy(a[2:], l.fieldArgs)
		cmds[k] = redis.NewStringSliceCmd(ctx, a...)
		_ = pipe.Process(ctx, cmds[k])
	}
	_, _ = pipe.Exec(ctx)
	recs := make([]*stream.Record, len(ids))
	errs := make([]error, len(ids))
	arena := newRecordArena(l.cfg.Schema, len(ids))
	for k, cmd := range cmds {
		vals, err := cmd.Result()
		if err != nil {
			if isKeyError(err) {
				errs[k] = &KeyError{Key: l.key(ids[k]), Err: err}
				continue
			}
			return nil, nil, err
		}
		recs[k] = l.record(ids[k], vals, arena)
	}
	return recs, errs, nil
}

// isKeyError tells a reply about one key from a failure of the link or of
// the server as a whole (which is worth retrying).
func isKeyError(err error) bool {
	var re redis.Error
	if !errors.As(err, &re) || errors.Is(err, redis.ErrClosed) {
		return false
	}
	msg := err.Error()
	for _, p := range []string{"LOADING", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "BUSY", "READONLY", "NOAUTH", "WRONGPASS", "NOPERM", "MOVED", "ASK", "OOM"} {
		if strings.HasPrefix(msg, p) {
			return false
		}
	}
	return true
}

// recordArena hands out the records of one fetch, allocated in chunks of
// arenaChunk (small, so that one long-lived record keeps little else alive).
type recordArena struct {
	schema *stream.Schema
	left   int
	recs   []stream.Record
	vals   []stream.Value
}

const arenaChunk = 16

func newRecordArena(schema *stream.Schema, n int) *recordArena {
	return &recordArena{schema: schema, left: n}
}

func (a *recordArena) next() *stream.Record {
	if len(a.recs) == 0 {
		n := max(1, min(arenaChunk, a.left))
		a.left -= n
		a.recs = make([]stream.Record, n)
		a.vals = make([]stream.Value, n*a.schema.Len())
	}
	r := &a.recs[0]
	a.recs = a.recs[1:]
	w := a.schema.Len()
	r.Schema, r.Values = a.schema, a.vals[:w:w]
	a.vals = a.vals[w:]
	return r
}

// record types the HMGET reply by the schema; nil when no field is set.
// An empty field counts as absent (HMGET replies are read as strings).
func (l *Lookup) record(id string, vals []string, arena *recordArena) *stream.Record {
	var rec *stream.Record
	for i, s := range vals {
		if s == "" {
			continue
		}
		if rec == nil {
			rec = arena.next()
		}
		f := l.cfg.Schema.Field(i)
		val, err := stream.ParseValue(f.Kind, s)
		if err != nil {
			l.cfg.Logger.Warn("enrich: bad hash field left null", "key", l.key(id), "field", f.Name, "err", err)
			continue
		}
		rec.Values[i] = val
	}
	return rec
}
