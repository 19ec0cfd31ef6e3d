package worker

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Stats counts what a worker did.
type Stats struct {
	Sent     int64 // SMS sent successfully
	Acked    int64 // entries acknowledged (sent or dead-lettered)
	AckMiss  int64 // XACKs that found the entry no longer pending
	Failures int64 // failed send attempts
	Dead     int64 // entries moved to the dead stream (malformed ones included)
	// Malformed counts the entries moved to the dead stream unsent for
	// lacking a required field or passing a bound (Config.Required,
	// MaxValueBytes, MaxFields).
	Malformed int64
	Claimed   int64 // entries claimed from other consumers
	// RedisRetries counts Redis operations retried after a transient error.
	RedisRetries int64
}

// Worker consumes SMS entries. Run it once.
type Worker struct {
	rdb       redis.UniversalClient
	sender    Sender
	cfg       Config
	lastClaim time.Time
	ownDone   bool
	st        struct {
		sent, acked, miss, failures, dead, claimed, redisRetries, malformed atomic.Int64
	}
}

// New returns a worker reading cfg.Stream from rdb and sending via sender.
func New(rdb redis.UniversalClient, sender Sender, cfg Config) (*Worker, error) {
	if rdb == nil || sender == nil {
		return nil, errors.New("worker: nil redis client or sender")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Worker{rdb: rdb, sender: sender, cfg: cfg}, nil
}

// Stats returns the counters; safe while Run runs.
func (w *Worker) Stats() Stats {
	return Stats{Sent: w.st.sent.Load(), Acked: w.st.acked.Load(), AckMiss: w.st.miss.Load(),
		Failures: w.st.failures.Load(), Dead: w.st.dead.Load(), Claimed: w.st.claimed.Load(),
		RedisRetries: w.st.redisRetries.Load(), Malformed: w.st.malformed.Load()}
}

// Run consumes until ctx ends, returning ctx.Err() after finishing the SMS
// in flight. Redis errors that may pass (a restart, a lost connection) are
// retried with backoff; others are returned.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.redo(ctx, "create group", w.ensureGroup); err != nil {
		return fmt.Errorf("worker: create group %s on %s: %w", w.cfg.Group, w.cfg.Stream, err)
	}
	failures := 0
	for ctx.Err() == nil {
		msgs, err := w.next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if !transient(err) {
				return err
			}
			// Redis is restarting or unreachable: wait and read again.
			failures++
			if w.pause(ctx, "read", failures, err) != nil {
				break
			}
			continue
		}
		failures = 0
		for _, m := range msgs {
			if ctx.Err() != nil {
				break // the rest stays pending: nothing is lost
			}
			if err := w.handle(ctx, m); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// next returns the entries to handle: first this consumer's own pending
// ones, then, when due, entries claimed from dead consumers, else new ones.
func (w *Worker) next(ctx context.Context) ([]redis.XMessage, error) {
	if !w.ownDone {
		msgs, err := w.read(ctx, "0", -1)
		if err != nil || len(msgs) > 0 {
			return msgs, err
		}
		w.ownDone = true
	}
	if now := w.cfg.Clock.Now(); w.cfg.ClaimEvery < 0 || now.Sub(w.lastClaim) >= w.cfg.ClaimEvery {
		w.lastClaim = now
		msgs, _, err := w.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: w.cfg.Stream, Group: w.cfg.Group,
			Consumer: w.cfg.Consumer, MinIdle: w.cfg.ClaimMinIdle, Start: "0-0", Count: w.cfg.Count}).Result()
		if err != nil {
			return nil, fmt.Errorf("worker: XAUTOCLAIM %s: %w", w.cfg.Stream, err)
		}
		if len(msgs) > 0 {
			w.st.claimed.Add(int64(len(msgs)))
			w.lastClaim = time.Time{} // there may be more: claim again next round
			return w.dropPoison(ctx, msgs)
		}
	}
	return w.read(ctx, ">", w.cfg.Block)
}

// dropPoison moves claimed entries delivered more than MaxDeliveries times
// to the dead stream and returns the others.
func (w *Worker) dropPoison(ctx context.Context, msgs []redis.XMessage) ([]redis.XMessage, error) {
	pend, err := w.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: w.cfg.Stream, Group: w.cfg.Group,
		Start: msgs[0].ID, End: msgs[len(msgs)-1].ID, Count: int64(len(msgs)), Consumer: w.cfg.Consumer}).Result()
	if err != nil {
		return nil, fmt.Errorf("worker: XPENDING %s: %w", w.cfg.Stream, err)
	}
	deliveries := make(map[string]int64, len(pend))
	for _, p := range pend {
		deliveries[p.ID] = p.RetryCount
	}
	keep := msgs[:0]
	for _, m := range msgs {
		if n := deliveries[m.ID]; n > w.cfg.MaxDeliveries {
			cause := fmt.Errorf("delivered %d times without being acknowledged", n)
			if err := w.dead(ctx, m, cause, 0); err != nil {
				return nil, err
			}
			continue
		}
		keep = append(keep, m)
	}
	return keep, nil
}

func (w *Worker) read(ctx context.Context, id string, block time.Duration) ([]redis.XMessage, error) {
	res, err := w.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: w.cfg.Group, Consumer: w.cfg.Consumer,
		Streams: []string{w.cfg.Stream, id}, Count: w.cfg.Count, Block: block}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("worker: XREADGROUP %s: %w", w.cfg.Stream, err)
	}
	if len(res) == 0 {
		return nil, nil
	}
	return res[0].Messages, nil
}
