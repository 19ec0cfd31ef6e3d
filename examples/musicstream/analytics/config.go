package analytics

import (
	"errors"
	"log/slog"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// Config configures the analytics operator. Zero values mean the defaults.
type Config struct {
	// Prefix goes before every key written (and read by Reader).
	Prefix string
	// TopZips is how many zip codes the merged zip keys keep (hour and day).
	// Default 20; negative keeps all.
	TopZips int
	// TopTracks is how many tracks the merged track key keeps per hour.
	// Default 20; negative keeps all.
	TopTracks int
	// TTL, when positive, sets an expiry on every key written (partials and
	// indexes included). Default 0: keep.
	TTL time.Duration
	// AllowedLateness keeps fired windows open for late events, which then
	// re-fire (overwriting their counts). Zero: the pipeline's.
	AllowedLateness time.Duration
	// RetryEvery is the processing time between retries of failed writes.
	// Default 1s.
	RetryEvery time.Duration
	// MaxPending bounds the keys whose failed writes are kept for retry;
	// results for further keys are dropped and counted. Default 100000.
	MaxPending int
	// Clock times retries. Default: the pipeline's clock (see Start), else
	// the system clock.
	Clock stream.Clock
	// Logger receives write failures. Default: the pipeline's logger, else
	// discard.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.TopZips == 0 {
		c.TopZips = 20
	}
	if c.TopTracks == 0 {
		c.TopTracks = 20
	}
	if c.RetryEvery <= 0 {
		c.RetryEvery = time.Second
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 100000
	}
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.TTL < 0 {
		errs = append(errs, errors.New("analytics: TTL must not be negative"))
	}
	if c.AllowedLateness < 0 {
		errs = append(errs, errors.New("analytics: AllowedLateness must not be negative"))
	}
	return errors.Join(errs...)
}

// top returns the trim length the merge script takes (0: keep all).
func top(n int) int {
	if n < 0 {
		return 0
	}
	return n
}
