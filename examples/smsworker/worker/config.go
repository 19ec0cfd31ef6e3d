package worker

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
)

// Config configures a Worker. Zero values mean the defaults.
type Config struct {
	// Stream is the stream read (default "queue:sms").
	Stream string
	// Group is the consumer group (default "smsworker"); it is created,
	// from the start of the stream, if missing.
	Group string
	// Consumer is this worker's name in the group (default host-pid). A
	// restarted worker with the same name resumes its own pending entries.
	Consumer string
	// DeadStream receives entries that could not be sent (default
	// Stream + ":dead"). The copy and the XACK are one transaction only
	// when both streams are in one hash slot: on a Redis Cluster, name them
	// with a hash tag ("{sms}:queue", "{sms}:dead"), or a crash between the
	// two may leave an entry both dead and pending (it is then sent again).
	DeadStream string
	// MaxAttempts is how many failed sends move an entry to DeadStream
	// (default 5).
	MaxAttempts int
	// MaxDeliveries moves a claimed entry to DeadStream without sending it
	// once it has been delivered more often than this (default 10): an
	// entry that kills every worker that takes it must not loop forever.
	MaxDeliveries int64
	// Required are the fields an entry must hold, non-empty (default
	// customer_id). An entry lacking one is malformed.
	Required []string
	// MaxValueBytes bounds each value of an entry (default 1024: a name, an
	// offer id); MaxFields the number of its fields (default 64). An entry
	// past either is malformed.
	MaxValueBytes int
	MaxFields     int
	// Retry is the backoff between attempts.
	Retry targets.Backoff
	// Count is the most entries read at once (default 16).
	Count int64
	// Block is how long a read waits for new entries (default 2s); it
	// bounds how long shutdown waits for an idle worker.
	Block time.Duration
	// ClaimMinIdle is how long an entry must have been pending with another
	// consumer before it is claimed (default 1m).
	ClaimMinIdle time.Duration
	// ClaimEvery is how often pending entries are claimed (default 10s;
	// negative: every round, for tests).
	ClaimEvery time.Duration
	// Clock paces claiming (default: the wall clock).
	Clock stream.Clock
	// Logger receives failures (nil: discard).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Stream == "" {
		c.Stream = "queue:sms"
	}
	if c.Group == "" {
		c.Group = "smsworker"
	}
	if c.Consumer == "" {
		host, _ := os.Hostname()
		c.Consumer = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if c.DeadStream == "" {
		c.DeadStream = c.Stream + ":dead"
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.MaxDeliveries == 0 {
		c.MaxDeliveries = 10
	}
	if c.Required == nil {
		c.Required = []string{"customer_id"}
	}
	if c.MaxValueBytes == 0 {
		c.MaxValueBytes = 1024
	}
	if c.MaxFields == 0 {
		c.MaxFields = 64
	}
	if c.Count == 0 {
		c.Count = 16
	}
	if c.Block == 0 {
		c.Block = 2 * time.Second
	}
	if c.ClaimMinIdle == 0 {
		c.ClaimMinIdle = time.Minute
	}
	if c.ClaimEvery == 0 {
		c.ClaimEvery = 10 * time.Second
	}
	c.Retry = c.Retry.WithDefaults()
	if c.Clock == nil {
		c.Clock = stream.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.MaxAttempts < 0 {
		errs = append(errs, errors.New("worker: negative MaxAttempts"))
	}
	if c.Count < 0 || c.Block < 0 || c.ClaimMinIdle < 0 {
		errs = append(errs, errors.New("worker: negative Count, Block or ClaimMinIdle"))
	}
	if c.MaxValueBytes < 0 || c.MaxFields < 0 {
		errs = append(errs, errors.New("worker: negative MaxValueBytes or MaxFields"))
	}
	if c.Stream != "" && c.Stream == c.DeadStream {
		errs = append(errs, errors.New("worker: DeadStream equals Stream"))
	}
	return errors.Join(errs...)
}
