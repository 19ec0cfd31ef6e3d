package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/metrics"
)

// OutboxConfig configures an Outbox. Zero values mean the defaults.
type OutboxConfig struct {
	// Max bounds each sink's queue (the alert being sent included); when
	// full the oldest is dropped and counted (QueueStats.Dropped). Default
	// 1000.
	Max int
	// MinBackoff and MaxBackoff bound the delay before a failed alert is
	// sent again: MinBackoff doubled per consecutive failure up to
	// MaxBackoff, each delay drawn between its half and itself (jitter).
	// Defaults 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds each Send (a context deadline, in real time), and the
	// last flush when Run's context ends. Default 5s.
	Timeout time.Duration
	// Clock paces the backoff. Default: the system clock.
	Clock stream.Clock
	// Logger receives a sink's failures (the first of a streak at WARN,
	// the next ones at DEBUG), its recovery, refusals and drops. Default:
	// discard.
	Logger *slog.Logger
	// OnAttempt, if set, is called after each Send, from the sink's
	// goroutine: err nil when delivered; retryIn is the delay before the
	// next attempt, 0 when none follows (delivered, refused for good, or
	// the last flush). The backoff's timer is started before the call, so
	// a test may advance a manual Clock by retryIn from it or after it.
	OnAttempt func(sink string, a metrics.Alert, err error, retryIn time.Duration)
}

func (c *OutboxConfig) setDefaults() {
	if c.Max <= 0 {
		c.Max = 1000
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = max(30*time.Second, c.MinBackoff)
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Clock == nil {
		c.Clock = stream.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports settings that cannot work.
func (c OutboxConfig) Validate() error {
	var errs []error
	if c.Max < 0 {
		errs = append(errs, fmt.Errorf("alert: OutboxConfig.Max must not be negative, not %d", c.Max))
	}
	if c.MinBackoff < 0 || c.MaxBackoff < 0 || c.Timeout < 0 {
		errs = append(errs, errors.New("alert: OutboxConfig's durations must not be negative"))
	}
	if c.MinBackoff > 0 && c.MaxBackoff > 0 && c.MinBackoff > c.MaxBackoff {
		errs = append(errs, fmt.Errorf("alert: OutboxConfig.MinBackoff (%s) exceeds MaxBackoff (%s)", c.MinBackoff, c.MaxBackoff))
	}
	return errors.Join(errs...)
}

// Outbox hands each alert to every sink, through a bounded queue of its
// own per sink, so that a sink that is down (Redis restarting, a webhook
// unreachable) neither blocks the caller nor delays the other sinks: its
// alerts wait, in order, and are retried with backoff until delivered,
// refused for good (Permanent), or dropped as the oldest of a full queue.
// Delivery is at least once: an alert whose reply was lost is sent again.
type Outbox struct {
	cfg     OutboxConfig
	queues  []*queue
	running atomic.Bool
}

// NewOutbox returns an outbox delivering to sinks, whose names must be
// distinct. Alerts added before Run wait for it.
func NewOutbox(cfg OutboxConfig, sinks ...Sink) (*Outbox, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	o := &Outbox{cfg: cfg}
	seen := map[string]bool{}
	for i, s := range sinks {
		if s == nil {
			return nil, fmt.Errorf("alert: NewOutbox: sink %d is nil", i)
		}
		name := s.Name()
		if name == "" || seen[name] {
			return nil, fmt.Errorf("alert: NewOutbox: sink %d's name %q is empty or taken", i, name)
		}
		seen[name] = true
		o.queues = append(o.queues, &queue{sink: s, name: name, wake: make(chan struct{}, 1)})
	}
	return o, nil
}

// Add enqueues a on every sink's queue. It never blocks: a full queue
// drops its oldest alert.
func (o *Outbox) Add(a metrics.Alert) {
	for _, q := range o.queues {
		q.push(a, o.cfg.Max)
	}
}

// Run delivers until ctx ends, one goroutine per sink, in order per sink.
// When ctx ends, each sink gets one last attempt, bounded by Timeout, to
// send what waits (without retries); what is left stays pending. It
// returns ctx.Err(), or an error at once if it runs already.
func (o *Outbox) Run(ctx context.Context) error {
	if !o.running.CompareAndSwap(false, true) {
		return errors.New("alert: Outbox.Run called while running")
	}
	defer o.running.Store(false)
	var wg sync.WaitGroup
	for _, q := range o.queues {
		wg.Go(func() { q.run(ctx, &o.cfg) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		// A sink that ignores its context must not hold Run up for good.
		t := time.NewTimer(2*o.cfg.Timeout + time.Second)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			o.cfg.Logger.Error("alert: a sink did not return from Send at shutdown; Run returns without it")
		}
	}
	return ctx.Err()
}

// Stats returns each sink's counts, by name.
func (o *Outbox) Stats() map[string]metrics.QueueStats {
	out := make(map[string]metrics.QueueStats, len(o.queues))
	for _, q := range o.queues {
		out[q.name] = q.stats()
	}
	return out
}
