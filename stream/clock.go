package stream

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Clock is the processing-time clock the runner uses for idle-partition
// timeouts, processing-time mode and periodic ticks. Inject a ManualClock in
// tests to make them deterministic.
type Clock interface {
	Now() time.Time
	// NewTicker returns a channel that receives the clock's time every d,
	// and a function that stops it.
	NewTicker(d time.Duration) (<-chan time.Time, func())
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTicker wraps time.NewTicker.
func (SystemClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// ManualClock is a Clock that moves only when Advance or Set is called.
// Tickers fire (without blocking) as Advance passes their deadlines.
type ManualClock struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*manualTicker
	changed chan struct{} // closed when a ticker starts or stops
}

type manualTicker struct {
	c       chan time.Time
	every   time.Duration
	next    time.Time
	stopped bool
}

// NewManualClock returns a clock set to start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTicker registers a ticker that fires as the clock passes multiples of d.
func (c *ManualClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTicker{c: make(chan time.Time, 1), every: d, next: c.now.Add(d)}
	c.tickers = append(c.tickers, t)
	c.signal()
	return t.c, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !t.stopped {
			t.stopped = true
			c.tickers = slices.DeleteFunc(c.tickers, func(x *manualTicker) bool { return x == t })
			c.signal()
		}
	}
}

// signal wakes WaitTickers (c.mu held).
func (c *ManualClock) signal() {
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
}

// WaitTickers blocks until at least n tickers are running (made by
// NewTicker and not stopped), so that a test's Advance reaches the ticker
// a goroutine is about to wait on, or until ctx ends.
func (c *ManualClock) WaitTickers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		if len(c.tickers) >= n {
			c.mu.Unlock()
			return nil
		}
		if c.changed == nil {
			c.changed = make(chan struct{})
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Advance moves the clock forward by d and fires due tickers. Like
// time.Ticker, a ticker whose reader lags drops ticks.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.tickers {
		if t.stopped || c.now.Before(t.next) {
			continue
		}
		for !t.next.After(c.now) {
			t.next = t.next.Add(t.every)
		}
		select {
		case t.c <- c.now:
		default:
		}
	}
}
