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
	cmds := make([]*redis.SliceCmd, len(ids))
	for k, id := range ids {
		cmds[k] = pipe.HMGet(ctx, l.cfg.KeyPrefix+id, l.fields...)
	}
	_, _ = pipe.Exec(ctx)
	recs := make([]*stream.Record, len(ids))
	errs := make([]error, len(ids))
	for k, cmd := range cmds {
		vals, err := cmd.Result()
		if err != nil {
			if isKeyError(err) {
				errs[k] = &KeyError{Key: l.cfg.KeyPrefix + ids[k], Err: err}
				continue
			}
			return nil, nil, err
		}
		recs[k] = l.record(ids[k], vals)
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

// record types the HMGET reply by the schema; nil when no field is set.
func (l *Lookup) record(id string, vals []any) *stream.Record {
	var rec *stream.Record
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		if rec == nil {
			rec = &stream.Record{Schema: l.cfg.Schema, Values: make([]stream.Value, len(vals))}
		}
		f := l.cfg.Schema.Field(i)
		val, err := stream.ParseValue(f.Kind, s)
		if err != nil {
			l.cfg.Logger.Warn("enrich: bad hash field left null", "key", l.cfg.KeyPrefix+id, "field", f.Name, "err", err)
			continue
		}
		rec.Values[i] = val
	}
	return rec
}
