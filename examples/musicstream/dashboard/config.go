package dashboard

import (
	"errors"
	"fmt"
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
	// Redis holds the analytics keys (package analytics), the reference
	// data (track:<id>, customer:<id>), the targets' keys (interest:<id>,
	// queue:ads, queue:sms), the recent plays (plays:<id>) and the ad
	// model (model:ads, model:ads:history).
	Redis redis.UniversalClient
	// Prefix goes before every key read: the job's -prefix.
	Prefix string
	// Pipeline is the running pipeline.
	Pipeline StatsSource
	// Firings returns the emissions per rule since start (e.g. from
	// music.Scenario.Counters().Firings). Optional.
	Firings func() map[string]int64
	// Health, if set, is run on every refresh and shown.
	Health *metrics.HealthConfig
	// Sources returns each source's state (e.g. a metrics.SourceMonitor's
	// Status), called on every refresh for the sources panel. Optional:
	// without it the panel says that no source monitor is wired.
	Sources func() []metrics.SourceStatus
	// Range is the span the page shows until the user picks another
	// (the ?range= of /api/dashboard). Default RangeDay.
	Range Range
	// MaxHours bounds what RangeAll reads: the newest MaxHours hours
	// written (the page says how many older ones it left out). Default
	// 8784 (366 days).
	MaxHours int
	// Top is how many zip codes and tracks the rankings show. Default 20.
	Top int
	// ModelHistory is how many of the newest training attempts
	// (model:ads:history) the model chart reads. Default 1000.
	ModelHistory int
	// Plays is the recorder of each customer's recent plays (NewRecorder),
	// whose bound and counters the customer page shows. Optional: without
	// it the page still reads plays:<customer_id>, and says it does not
	// know whether they are being recorded.
	Plays *Recorder
	// PageSize is how many rows a section of the customer page shows at a
	// time; a request may ask for up to 4×. Default 50.
	PageSize int
	// QueueScan is how many of the newest entries of queue:ads and
	// queue:sms one customer-page request examines for the customer's
	// entries (XREVRANGE in chunks of 1000); the page offers to search the
	// next ones. Default 10000.
	QueueScan int
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
	if c.Range == "" {
		c.Range = RangeDay
	}
	if c.MaxHours <= 0 {
		c.MaxHours = 366 * 24
	}
	if c.ModelHistory <= 0 {
		c.ModelHistory = 1000
	}
	if c.PageSize <= 0 {
		c.PageSize = 50
	}
	if c.QueueScan <= 0 {
		c.QueueScan = 10000
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
	if c.Range != "" {
		if _, err := ParseRange(string(c.Range)); err != nil {
			errs = append(errs, fmt.Errorf("dashboard: Config.Range: %w", err))
		}
	}
	return errors.Join(errs...)
}
