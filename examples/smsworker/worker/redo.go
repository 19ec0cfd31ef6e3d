package worker

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
)

// transient reports whether a Redis error may go away by itself: network
// errors and replies such as LOADING (a restarting server). NOGROUP (the
// stream was lost, e.g. a restart without persistence) is transient too: the
// group is created again before the retry.
func transient(err error) bool {
	var re redis.Error
	if !errors.As(err, &re) {
		return true
	}
	msg := strings.TrimPrefix(re.Error(), "ERR ")
	for _, p := range []string{"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "READONLY", "NOGROUP", "CLUSTERDOWN"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// redo runs a Redis operation until it succeeds, retrying transient errors
// with backoff. Operations that follow a send must not be abandoned at
// shutdown: fn gets a context shutdown does not cancel, and once ctx has
// ended redo makes at most three more attempts.
func (w *Worker) redo(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	keep := context.WithoutCancel(ctx)
	for attempt := 1; ; attempt++ {
		err := fn(keep)
		if err == nil || !transient(err) || (ctx.Err() != nil && attempt >= 3) {
			return err
		}
		if w.pause(keep, what, attempt, err) != nil {
			return err
		}
	}
}

// pause follows a transient failure of a Redis operation: it counts and
// logs it, creates the group again after NOGROUP and waits the backoff of
// attempt, returning early with an error when ctx ends.
func (w *Worker) pause(ctx context.Context, what string, attempt int, err error) error {
	w.st.redisRetries.Add(1)
	w.cfg.Logger.Warn("redis failed, retrying", "op", what, "attempt", attempt, "err", err)
	if redis.HasErrorPrefix(err, "NOGROUP") {
		_ = w.ensureGroup(ctx)
	}
	return w.cfg.Retry.Sleep(ctx, w.cfg.Retry.Delay(attempt))
}

func (w *Worker) ensureGroup(ctx context.Context) error {
	err := w.rdb.XGroupCreateMkStream(ctx, w.cfg.Stream, w.cfg.Group, "0").Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return err
	}
	return nil
}
