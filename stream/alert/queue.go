package alert

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rulestream/rulestream/stream/metrics"
)

// queue is one sink's alerts and its delivery loop. items[0] is the alert
// being sent while sending is set; if it is dropped meanwhile (the queue
// full), lostHead says so and the attempt's outcome decides how it counts
// (delivered after all, or dropped).
type queue struct {
	sink Sink
	name string
	wake chan struct{} // an alert was added

	mu                    sync.Mutex
	items                 []metrics.Alert // the oldest first
	sending, lostHead     bool
	sent, failed, dropped int64
	reported              int64 // dropped, as last logged
}

// push appends a, dropping the oldest alert when the queue holds max.
func (q *queue) push(a metrics.Alert, max int) {
	q.mu.Lock()
	if len(q.items) >= max {
		if q.sending && !q.lostHead {
			q.lostHead = true // counted once its attempt ends
		} else {
			q.dropped++
		}
		q.items[0] = metrics.Alert{}
		q.items = q.items[1:]
	}
	q.items = append(q.items, a)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// head returns the oldest alert and marks it being sent.
func (q *queue) head() (metrics.Alert, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return metrics.Alert{}, false
	}
	q.sending = true
	return q.items[0], true
}

// settle records the outcome of sending the head: delivered or refused
// for good, it leaves the queue; otherwise it stays first, to be retried.
func (q *queue) settle(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sending = false
	if q.lostHead {
		q.lostHead = false
		if err == nil {
			q.sent++
		} else {
			q.dropped++
		}
		return
	}
	switch {
	case err == nil:
		q.sent++
	case IsPermanent(err):
		q.failed++
	default:
		return
	}
	q.items[0] = metrics.Alert{}
	q.items = q.items[1:]
}

func (q *queue) stats() metrics.QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return metrics.QueueStats{Sent: q.sent, Failed: q.failed, Dropped: q.dropped, Pending: len(q.items)}
}

// newlyDropped returns how many were dropped since it was last called.
func (q *queue) newlyDropped() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := q.dropped - q.reported
	q.reported = q.dropped
	return n
}

// send calls the sink under the timeout.
func (q *queue) send(ctx context.Context, a metrics.Alert, timeout time.Duration) error {
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return q.sink.Send(sctx, a)
}

// run delivers until ctx ends, then flushes.
func (q *queue) run(ctx context.Context, cfg *OutboxConfig) {
	log := cfg.Logger.With("sink", q.name)
	failures := 0 // consecutive
	hook := func(a metrics.Alert, err error, retryIn time.Duration) {
		if cfg.OnAttempt != nil {
			cfg.OnAttempt(q.name, a, err, retryIn)
		}
	}
	for {
		if ctx.Err() != nil {
			q.flush(ctx, cfg, log, hook)
			return
		}
		a, ok := q.head()
		if !ok {
			select {
			case <-q.wake:
				continue
			case <-ctx.Done():
				q.flush(ctx, cfg, log, hook)
				return
			}
		}
		err := q.send(ctx, a, cfg.Timeout)
		q.settle(err)
		switch {
		case err == nil:
			if n := q.newlyDropped(); failures > 0 || n > 0 {
				log.Info("alert sink delivering again", "failed_attempts", failures, "dropped_meanwhile", n)
			}
			failures = 0
			hook(a, nil, 0)
			continue
		case IsPermanent(err):
			log.Error("alert refused by the sink, dropped", "source", a.Source, "kind", a.Kind, "error", err)
			hook(a, err, 0)
			continue
		case ctx.Err() != nil:
			hook(a, err, 0)
			q.flush(ctx, cfg, log, hook)
			return
		}
		failures++
		delay := backoff(cfg.MinBackoff, cfg.MaxBackoff, failures)
		tick, stop := cfg.Clock.NewTicker(delay)
		level := slog.LevelDebug
		if failures == 1 {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "alert sink failed, retrying", "attempt", failures, "retry_in", delay,
			"pending", q.stats().Pending, "error", err)
		hook(a, err, delay)
		select {
		case <-tick:
			stop()
		case <-ctx.Done():
			stop()
			q.flush(ctx, cfg, log, hook)
			return
		}
	}
}

// flush sends what waits, in order, within one Timeout from now, until an
// attempt fails: the last bounded attempt once Run's context ended.
func (q *queue) flush(ctx context.Context, cfg *OutboxConfig, log *slog.Logger, hook func(metrics.Alert, error, time.Duration)) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Timeout)
	defer cancel()
	for fctx.Err() == nil {
		a, ok := q.head()
		if !ok {
			return
		}
		err := q.sink.Send(fctx, a)
		q.settle(err)
		hook(a, err, 0)
		if err != nil && !IsPermanent(err) {
			log.Warn("alerts left undelivered at shutdown", "pending", q.stats().Pending, "error", err)
			return
		}
	}
	if n := q.stats().Pending; n > 0 {
		log.Warn("alerts left undelivered at shutdown", "pending", n, "error", fctx.Err())
	}
}

// backoff returns the delay before retry n (1-based): lo doubled n-1
// times, capped at hi, drawn in [d/2, d].
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	half := d / 2
	return half + rand.N(d-half+1)
}
