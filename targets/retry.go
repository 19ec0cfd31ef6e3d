package targets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Backoff is the retry policy of a sink: a failed batch is retried after
// Initial, then each delay is multiplied by Multiplier up to Max. The caller
// of Flush, or of the Write that fills the next batch while one is being
// retried, is blocked meanwhile, which back-pressures the pipeline; nothing
// is dropped. Zero values mean the defaults.
type Backoff struct {
	// Initial is the first delay (default 10ms).
	Initial time.Duration
	// Max caps the delay (default 5s).
	Max time.Duration
	// Multiplier grows the delay (default 2).
	Multiplier float64
	// MaxAttempts bounds the attempts, the first included (default 0:
	// retry until the context ends). The last error is then returned and the
	// batch stays pending, so a later Flush tries again.
	MaxAttempts int
	// Sleep waits d or until ctx ends (default: a timer). Tests inject one
	// that records the delays instead of waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (b *Backoff) setDefaults() {
	if b.Initial <= 0 {
		b.Initial = 10 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 5 * time.Second
	}
	if b.Multiplier < 1 {
		b.Multiplier = 2
	}
	if b.Sleep == nil {
		b.Sleep = sleepCtx
	}
}

// WithDefaults returns b with its zero fields set to the defaults, for
// users that call Delay and Sleep themselves.
func (b Backoff) WithDefaults() Backoff {
	b.setDefaults()
	return b
}

// Delay returns the delay before retry number n (1-based).
func (b Backoff) Delay(n int) time.Duration {
	d := float64(b.Initial)
	for i := 1; i < n && d < float64(b.Max); i++ {
		d *= b.Multiplier
	}
	return min(time.Duration(d), b.Max)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PermanentError marks an error that retrying cannot fix (a WRONGTYPE
// reply, a value that cannot be encoded): sinks return it at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that sinks do not retry it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err is marked permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// do runs fn until it succeeds, fails permanently, the attempts run out or
// ctx ends. Every failure is logged.
func (b Backoff) do(ctx context.Context, log *slog.Logger, what string, fn func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if IsPermanent(err) {
			return err
		}
		if b.MaxAttempts > 0 && attempt >= b.MaxAttempts {
			return fmt.Errorf("%s: giving up after %d attempts: %w", what, attempt, err)
		}
		d := b.Delay(attempt)
		log.Warn("write failed, retrying", "sink", what, "attempt", attempt, "delay", d, "err", err)
		if serr := b.Sleep(ctx, d); serr != nil {
			return fmt.Errorf("%s: %w (while retrying after: %w)", what, serr, err)
		}
	}
}
