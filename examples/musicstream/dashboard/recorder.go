package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/stream"
)

// PlaysKey is the sorted set (after the prefix, before the customer id)
// of a customer's recent plays: member a JSON object {"event_id",
// "track_id", "zip", "mobile"}, score the event time in unix milliseconds.
const PlaysKey = "plays:"

// RecorderConfig configures a Recorder. Zero values mean the defaults.
type RecorderConfig struct {
	// Prefix goes before every key written.
	Prefix string
	// Keep is how many plays a customer's key holds: the newest by event
	// time; older ones are trimmed as newer ones come. Default 1000.
	Keep int
	// TTL expires a customer's key after this long without a new play
	// (processing time), so that customers who left do not stay in Redis
	// forever. Default 30 days; negative: never.
	TTL time.Duration
	// The fields of a play. Defaults: customer_id, event_id, track_id,
	// listening_zip_code, ismobile (the music stream's input).
	Customer, ID, Track, Zip, Mobile string
	// Logger receives a warning when writes start failing, and a line when
	// they work again. Default: discard.
	Logger *slog.Logger
}

func (c *RecorderConfig) setDefaults() {
	if c.Keep == 0 {
		c.Keep = 1000
	}
	if c.TTL == 0 {
		c.TTL = 30 * 24 * time.Hour
	}
	for _, f := range []struct {
		p   *string
		def string
	}{{&c.Customer, "customer_id"}, {&c.ID, "event_id"}, {&c.Track, "track_id"}, {&c.Zip, "listening_zip_code"}, {&c.Mobile, "ismobile"}} {
		if *f.p == "" {
			*f.p = f.def
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Recorder keeps each customer's recent plays in Redis for the customer
// page: <prefix>plays:<customer_id>, a sorted set bounded to Keep plays
// and expiring TTL after the customer's last play. A customer with a
// million plays holds Keep of them; the page reads a page at a time.
//
// Its operators (Tap, Operator) write each batch's plays in one round trip
// (per customer ZADD, ZREMRANGEBYRANK to Keep, EXPIRE) before the batch
// goes on. A play replayed after a restart is the same member: it is not
// counted twice. A failed write is not retried and does not stop the
// pipeline: its plays are missing from the customer page, which says how
// many were lost (Stats), and the failure is logged.
type Recorder struct {
	rdb                                    redis.UniversalClient
	cfg                                    RecorderConfig
	plays, skipped, writes, failures, lost atomic.Int64
	lastErr                                atomic.Pointer[string]
	failing                                atomic.Bool
}

// RecorderStats are a Recorder's counters since it was made.
type RecorderStats struct {
	Keep      int    `json:"keep"`
	TTL       string `json:"ttl"`       // "" when keys do not expire
	Plays     int64  `json:"plays"`     // plays written
	Skipped   int64  `json:"skipped"`   // plays without a customer id
	Writes    int64  `json:"writes"`    // batches written
	Failures  int64  `json:"failures"`  // batches whose write failed
	Lost      int64  `json:"lost"`      // plays of those batches
	LastError string `json:"lastError"` // the latest failure's error, "" once a write worked again
}

// NewRecorder returns a recorder writing to rdb.
func NewRecorder(rdb redis.UniversalClient, cfg RecorderConfig) (*Recorder, error) {
	if rdb == nil {
		return nil, errors.New("dashboard: NewRecorder: nil redis client")
	}
	if cfg.Keep < 0 {
		return nil, fmt.Errorf("dashboard: RecorderConfig.Keep %d is negative", cfg.Keep)
	}
	cfg.setDefaults()
	return &Recorder{rdb: rdb, cfg: cfg}, nil
}

// Stats returns the counters.
func (r *Recorder) Stats() RecorderStats {
	s := RecorderStats{Keep: r.cfg.Keep, Plays: r.plays.Load(), Skipped: r.skipped.Load(), Writes: r.writes.Load(),
		Failures: r.failures.Load(), Lost: r.lost.Load()}
	if r.cfg.TTL > 0 {
		s.TTL = r.cfg.TTL.String()
	}
	if e := r.lastErr.Load(); e != nil {
		s.LastError = *e
	}
	return s
}

// play is a member of plays:<customer_id>.
type play struct {
	EventID string `json:"event_id"`
	TrackID string `json:"track_id"`
	Zip     string `json:"zip"`
	Mobile  bool   `json:"mobile"`
}

// fields are the positions of a schema's play fields.
type fields struct {
	schema                       *stream.Schema
	cust, id, track, zip, mobile int
}

// batch groups a batch's plays by customer, in the order of their first
// play; an operator reuses it for its next batch.
type batch struct {
	f     fields
	keys  []string
	plays map[string][]redis.Z
}

func (r *Recorder) newBatch() *batch { return &batch{plays: map[string][]redis.Z{}} }

// Record writes the plays of in. It returns the write's error (also
// counted and logged); the operators ignore it.
func (r *Recorder) Record(ctx context.Context, in []stream.Event) error {
	return r.record(ctx, in, r.newBatch())
}

func (r *Recorder) record(ctx context.Context, in []stream.Event, b *batch) error {
	clear(b.plays)
	b.keys = b.keys[:0]
	n := 0
	for i := range in {
		ev := &in[i]
		if ev.Schema == nil {
			continue
		}
		if ev.Schema != b.f.schema {
			s := ev.Schema
			b.f = fields{schema: s, cust: s.Index(r.cfg.Customer), id: s.Index(r.cfg.ID), track: s.Index(r.cfg.Track),
				zip: s.Index(r.cfg.Zip), mobile: s.Index(r.cfg.Mobile)}
		}
		cust := field(ev, b.f.cust).Text()
		if cust == "" {
			r.skipped.Add(1)
			continue
		}
		member, err := json.Marshal(play{EventID: field(ev, b.f.id).Text(), TrackID: field(ev, b.f.track).Text(),
			Zip: field(ev, b.f.zip).Text(), Mobile: truthy(field(ev, b.f.mobile))})
		if err != nil {
			return fmt.Errorf("dashboard: encode a play: %w", err)
		}
		key := r.cfg.Prefix + PlaysKey + cust
		zs, ok := b.plays[key]
		if !ok {
			b.keys = append(b.keys, key)
		}
		b.plays[key] = append(zs, redis.Z{Score: float64(ev.Time / 1e6), Member: member})
		n++
	}
	if len(b.keys) > 0 {
		_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, key := range b.keys {
				p.ZAdd(ctx, key, b.plays[key]...)
				p.ZRemRangeByRank(ctx, key, 0, int64(-r.cfg.Keep-1))
				if r.cfg.TTL > 0 {
					p.Expire(ctx, key, r.cfg.TTL)
				}
			}
			return nil
		})
		if err != nil {
			return r.failed(err, n)
		}
		r.writes.Add(1)
		r.plays.Add(int64(n))
		if r.failing.CompareAndSwap(true, false) {
			r.lastErr.Store(nil)
			r.cfg.Logger.Info("dashboard: recording recent plays again", "lost", r.lost.Load())
		}
	}
	return nil
}

func (r *Recorder) failed(err error, n int) error {
	err = fmt.Errorf("dashboard: record recent plays in %s%s<customer_id>: %w", r.cfg.Prefix, PlaysKey, err)
	r.failures.Add(1)
	r.lost.Add(int64(n))
	msg := err.Error()
	r.lastErr.Store(&msg)
	if r.failing.CompareAndSwap(false, true) {
		r.cfg.Logger.Warn("dashboard: recent plays not recorded (the customer page misses them; not retried)", "error", err, "plays", n)
	}
	return err
}

// truthy reads a mobile flag: a bool, an int or a string "1" or "true".
func truthy(v stream.Value) bool {
	t := v.Text()
	return t == "1" || strings.EqualFold(t, "true")
}

func field(ev *stream.Event, i int) stream.Value {
	if i >= 0 && i < len(ev.Fields) {
		return ev.Fields[i]
	}
	return stream.Value{}
}
