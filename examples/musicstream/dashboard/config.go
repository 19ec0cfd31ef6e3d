package dashboard

import (
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/metrics"
)

// StatsSource is the pipeline as the dashboard reads it; *stream.Pipeline
// is one.
type StatsSource interface {
	Name() string
	Stats() stream.Stats
}

// Config configures a Dashboard. Redis and Pipeline are required.
type Config struct {
	// Redis holds the analytics keys (package analytics).
	Redis redis.UniversalClient
	// Prefix is the analytics' key prefix (analytics.Config.Prefix).
	Prefix string
	// Pipeline is the running pipeline.
	Pipeline StatsSource
	// Firings returns the emissions per rule since start (e.g. from
	// music.Scenario.Counters().Firings). Optional.
	Firings func() map[string]int64
	// Health, if set, is run on every refresh and shown.
	Health *metrics.HealthConfig
	// Hours is how many hours the hourly charts show. Default 48.
	Hours int
	// Top is how many zip codes and tracks the rankings show. Default 20.
	Top int
	// SampleEvery is the interval of the counter samples. Default 1s.
	SampleEvery time.Duration
	// History is how far back the operational series go. Default 10m.
	History time.Duration
	// Clock is the processing-time clock. Default: the system clock.
	Clock stream.Clock
	// Logger receives Redis read errors. Default: discard.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Hours <= 0 {
		c.Hours = 48
	}
	if c.Top <= 0 {
		c.Top = 20
	}
	if c.SampleEvery <= 0 {
		c.SampleEvery = time.Second
	}
	if c.History <= 0 {
		c.History = 10 * time.Minute
	}
	if c.Clock == nil {
		c.Clock = stream.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports a missing dependency.
func (c Config) Validate() error {
	var errs []error
	if c.Redis == nil {
		errs = append(errs, errors.New("dashboard: Config.Redis is required"))
	}
	if c.Pipeline == nil {
		errs = append(errs, errors.New("dashboard: Config.Pipeline is required"))
	}
	return errors.Join(errs...)
}
