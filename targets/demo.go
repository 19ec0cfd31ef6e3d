package targets

import (
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/stream"
)

// The demo's keys, without DemoConfig.Prefix.
const (
	InterestKey      = "interest:{customer_id}"
	InterestStream   = "queue:interest"
	AdsStream        = "queue:ads"
	SMSStream        = "queue:sms"
	DeadLetterStream = "queue:deadletter"
)

// EmissionFields are the payload fields of a rule emission; SMSFields add
// what the SMS needs; DeadLetterFields are those of stream.DeadLetterSchema.
var (
	EmissionFields   = []string{"customer_id", "track_id", "event_id", "rule", "rule_version", "at"}
	SMSFields        = append(append([]string(nil), EmissionFields...), "name", "offer_id")
	DeadLetterFields = []string{"source", "position", "reason", "raw"}
)

// DemoConfig tunes the demo's routes. Zero values mean the defaults.
type DemoConfig struct {
	// Prefix is put before every key (default none), for tests and for
	// several pipelines sharing one Redis.
	Prefix string
	// MaxLen caps each stream approximately (default 0: unbounded).
	MaxLen int64
	// Batch, Retry, MarkerPrefix, MarkerTTL, Clock and Logger are passed to
	// every Redis sink (see Config).
	Batch        BatchPolicy
	Retry        Backoff
	MarkerPrefix string
	MarkerTTL    time.Duration
	Clock        stream.Clock
	Logger       *slog.Logger
}

// Demo returns the demo's targets as a Router:
//
//	interest   → ZADD NX interest:{customer_id} track_id at(ms), and XADD queue:interest
//	ads        → XADD queue:ads   customer_id track_id event_id rule rule_version at
//	sms        → XADD queue:sms   the same plus name offer_id
//	deadletter → XADD queue:deadletter source position reason raw
//
// Each target is one idempotent Redis sink named after it; an emission's
// ZADD and XADD are applied atomically. Unknown targets are an error.
func Demo(rdb redis.Cmdable, cfg DemoConfig) (*Router, error) {
	p := cfg.Prefix
	xadd := func(key string, fields []string) Write {
		return Write{Op: OpStream, Key: p + key, Fields: fields, MaxLen: cfg.MaxLen}
	}
	routes := map[string][]Write{
		"interest": {
			{Op: OpSortedSet, Key: p + InterestKey, Member: "track_id", Score: "at", NX: true},
			xadd(InterestStream, EmissionFields),
		},
		"ads":        {xadd(AdsStream, EmissionFields)},
		"sms":        {xadd(SMSStream, SMSFields)},
		"deadletter": {xadd(DeadLetterStream, DeadLetterFields)},
	}
	rc := RouterConfig{Routes: map[string][]stream.Sink{}}
	for target, writes := range routes {
		s, err := NewRedis(rdb, Config{Name: target, Writes: writes, Batch: cfg.Batch, Retry: cfg.Retry,
			MarkerPrefix: cfg.MarkerPrefix, MarkerTTL: cfg.MarkerTTL, Clock: cfg.Clock, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
		rc.Routes[target] = []stream.Sink{s}
	}
	return NewRouter(rc)
}
