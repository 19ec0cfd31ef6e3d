package targets

import (
	"errors"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// BatchPolicy says when a buffering sink sends what it holds. A batch is
// sent when it reaches Count events or Bytes encoded bytes, or, at the next
// Write or Flush, once its oldest event has waited Period. Zero values mean
// the defaults.
type BatchPolicy struct {
	// Count is the most events per batch (default 1024).
	Count int
	// Bytes is the most encoded bytes per batch (default 4 MiB).
	Bytes int
	// Period is how long the oldest pending event may wait (default 100ms;
	// negative: only Count, Bytes and Flush send). There is no timer: the
	// period is checked when Write or Flush is called, and the runner
	// flushes before every acknowledgement anyway.
	Period time.Duration
}

func (p *BatchPolicy) setDefaults() {
	if p.Count == 0 {
		p.Count = 1024
	}
	if p.Bytes == 0 {
		p.Bytes = 4 << 20
	}
	if p.Period == 0 {
		p.Period = 100 * time.Millisecond
	}
}

// Validate reports a policy that can never send.
func (p BatchPolicy) Validate() error {
	if p.Count < 0 || p.Bytes < 0 {
		return errors.New("batch policy: Count and Bytes must not be negative")
	}
	return nil
}

// Batcher tracks a pending batch against a BatchPolicy. Like Benthos's
// batcher it owns no goroutine and no timer: the owner calls Add for each
// event, sends when Add or Due says so, then calls Reset.
type Batcher struct {
	policy BatchPolicy
	clock  stream.Clock
	count  int
	bytes  int
	since  time.Time
}

// NewBatcher returns a batcher; a nil clock means the wall clock.
func NewBatcher(p BatchPolicy, clock stream.Clock) *Batcher {
	p.setDefaults()
	if clock == nil {
		clock = stream.SystemClock{}
	}
	return &Batcher{policy: p, clock: clock}
}

// Add records one event of n encoded bytes and reports whether the batch is
// full and must be sent.
func (b *Batcher) Add(n int) bool {
	if b.count == 0 && b.policy.Period > 0 {
		b.since = b.clock.Now()
	}
	b.count++
	b.bytes += n
	return b.count >= b.policy.Count || b.bytes >= b.policy.Bytes
}

// Due reports whether a non-empty batch has waited its Period.
func (b *Batcher) Due() bool {
	return b.count > 0 && b.policy.Period > 0 && b.clock.Now().Sub(b.since) >= b.policy.Period
}

// UntilNext returns how long until the pending batch is due: negative when
// nothing is pending or the policy has no period, zero when already due.
func (b *Batcher) UntilNext() time.Duration {
	if b.count == 0 || b.policy.Period <= 0 {
		return -1
	}
	return max(b.policy.Period-b.clock.Now().Sub(b.since), 0)
}

// Count returns the number of pending events.
func (b *Batcher) Count() int { return b.count }

// Reset empties the batch after it was sent.
func (b *Batcher) Reset() { b.count, b.bytes = 0, 0 }
