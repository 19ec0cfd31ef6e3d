package enrich

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/stream"
)

// Unknown is what a Lookup does with an event whose id is not found (or
// whose id field is null).
type Unknown int

const (
	// PassUnknown passes the event on with a nil record joined (default).
	PassUnknown Unknown = iota
	// DropUnknown drops the event.
	DropUnknown
	// DeadLetterUnknown sends the event to the pipeline's dead-letter sink.
	DeadLetterUnknown
)

// Backoff sets the waits between retries while Redis is unreachable:
// Initial, doubling up to Max. Zero values mean 10ms and 1s.
type Backoff struct {
	Initial, Max time.Duration
}

func (b Backoff) delay(attempt int) time.Duration {
	d := b.Initial
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// LookupConfig sets up a Lookup. Name, IDField and Schema are required.
type LookupConfig struct {
	// Name is the join name the record is attached under ("customer").
	Name string
	// IDField is the event field holding the id ("customer_id").
	IDField string
	// KeyPrefix is prepended to the id to form the Redis key of the hash.
	// Default Name + ":".
	KeyPrefix string
	// KeyTemplate, if set, replaces KeyPrefix: the key is the template with
	// its one "{id}" replaced by the id, e.g. "app:{id}:profile".
	KeyTemplate string
	// Schema types the record; hash fields are parsed per its kinds.
	// Fields missing from the hash (or empty, or unparsable: logged) stay
	// null; a hash with none of the schema's fields is an unknown id.
	Schema *stream.Schema
	// Unknown is the policy for unknown ids. Default PassUnknown.
	Unknown Unknown
	// Cache is the cache to use, possibly shared with other lookups of the
	// same keys. Default: a new cache built from CacheConfig.
	Cache *Cache
	// CacheConfig configures the cache made when Cache is nil; its Clock
	// defaults to Clock.
	CacheConfig CacheConfig
	// Backoff paces retries while Redis is unreachable.
	Backoff Backoff
	// Clock times backoff waits and health changes. Default: system clock.
	Clock stream.Clock
	// Logger receives health changes and bad hash fields. nil: the
	// pipeline's logger (see Start), else discard.
	Logger *slog.Logger
	// OnHealth, if set, is called on every change of health.
	OnHealth func(Health)
}

func (c *LookupConfig) setDefaults() {
	if c.KeyPrefix == "" {
		c.KeyPrefix = c.Name + ":"
	}
	if c.Backoff.Initial <= 0 {
		c.Backoff.Initial = 10 * time.Millisecond
	}
	if c.Backoff.Max <= 0 {
		c.Backoff.Max = time.Second
	}
	c.Backoff.Max = max(c.Backoff.Max, c.Backoff.Initial)
	if c.Clock == nil {
		c.Clock = stream.SystemClock{}
	}
	if c.CacheConfig.Clock == nil {
		c.CacheConfig.Clock = c.Clock
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports settings that cannot work.
func (c LookupConfig) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("enrich: LookupConfig.Name is required"))
	}
	if c.IDField == "" {
		errs = append(errs, errors.New("enrich: LookupConfig.IDField is required"))
	}
	if c.Schema == nil {
		errs = append(errs, errors.New("enrich: LookupConfig.Schema is required"))
	}
	if c.KeyTemplate != "" && strings.Count(c.KeyTemplate, "{id}") != 1 {
		errs = append(errs, fmt.Errorf("enrich: LookupConfig.KeyTemplate %q must hold {id} once", c.KeyTemplate))
	}
	if c.Unknown < PassUnknown || c.Unknown > DeadLetterUnknown {
		errs = append(errs, fmt.Errorf("enrich: LookupConfig.Unknown %d is not a policy", c.Unknown))
	}
	return errors.Join(errs...)
}

// CustomerLookup is the configuration joining "customer" records from
// <prefix>customer:<customer_id>, typed by stream.CustomerSchema.
func CustomerLookup(prefix string) LookupConfig {
	return LookupConfig{Name: "customer", IDField: "customer_id", KeyPrefix: prefix + "customer:", Schema: stream.CustomerSchema}
}

// TrackLookup is the configuration joining "track" records from
// <prefix>track:<track_id>, typed by stream.TrackSchema.
func TrackLookup(prefix string) LookupConfig {
	return LookupConfig{Name: "track", IDField: "track_id", KeyPrefix: prefix + "track:", Schema: stream.TrackSchema}
}

// Lookup is a stream.Operator joining a record from Redis onto each event.
// One Lookup is driven by one goroutine (as the runner does); several
// Lookups may share a Cache.
type Lookup struct {
	cfg       LookupConfig
	client    redis.UniversalClient
	ownLogger bool // the logger came from LookupConfig
	keyPrefix string
	keySuffix string
	cache     *Cache
	fieldArgs []any // the schema's field names, boxed once for HMGET
	health    atomic.Pointer[Health]

	near near // memo of cache hits by int id

	// per-batch scratch
	idSchema *stream.Schema
	idIndex  int
	buf      []byte
	slots    []slot
	pending  map[string]int
	ids      []string
	results  []result
}

type slot struct {
	rec  *stream.Record
	miss int32 // 1 + index into ids, or 0
	noID bool
}

// NewLookup returns a lookup reading from client.
func NewLookup(client redis.UniversalClient, cfg LookupConfig) (*Lookup, error) {
	ownLogger := cfg.Logger != nil
	cfg.setDefaults()
	if client == nil {
		return nil, errors.New("enrich: NewLookup needs a redis client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Lookup{cfg: cfg, client: client, ownLogger: ownLogger, cache: cfg.Cache, pending: make(map[string]int), idIndex: -1}
	if l.cache == nil {
		c, err := NewCache(cfg.CacheConfig)
		if err != nil {
			return nil, err
		}
		l.cache = c
	}
	l.keyPrefix = cfg.KeyPrefix
	if cfg.KeyTemplate != "" {
		l.keyPrefix, l.keySuffix, _ = strings.Cut(cfg.KeyTemplate, "{id}")
	}
	for i := range cfg.Schema.Len() {
		l.fieldArgs = append(l.fieldArgs, cfg.Schema.Field(i).Name)
	}
	l.health.Store(&Health{Since: cfg.Clock.Now()})
	return l, nil
}

// Cache returns the lookup's cache.
func (l *Lookup) Cache() *Cache { return l.cache }

// Start adopts the pipeline's logger when LookupConfig.Logger was nil.
func (l *Lookup) Start(_ context.Context, env stream.Env) error {
	if !l.ownLogger && env.Logger != nil {
		l.cfg.Logger = env.Logger.With("lookup", l.cfg.Name)
	}
	return nil
}

// key is the Redis key of id.
func (l *Lookup) key(id string) string { return l.keyPrefix + id + l.keySuffix }

// Advance does nothing: a lookup fires nothing on watermarks.
func (l *Lookup) Advance(context.Context, int64, *stream.Emitter) error { return nil }

// intID returns the id of ev if it is an int.
func (l *Lookup) intID(ev *stream.Event) (int64, bool) {
	if ev.Schema != l.idSchema {
		l.findID(ev)
	}
	if l.idIndex < 0 || l.idIndex >= len(ev.Fields) {
		return 0, false
	}
	v := ev.Fields[l.idIndex]
	return v.Int(), v.Kind() == stream.KindInt
}

func (l *Lookup) findID(ev *stream.Event) {
	l.idSchema, l.idIndex = ev.Schema, -1
	if ev.Schema != nil {
		l.idIndex = ev.Schema.Index(l.cfg.IDField)
	}
}

// idOf writes the id of ev into l.buf; false if the field is null or absent.
func (l *Lookup) idOf(ev *stream.Event) bool {
	if ev.Schema != l.idSchema {
		l.findID(ev)
	}
	if l.idIndex < 0 || l.idIndex >= len(ev.Fields) {
		return false
	}
	v := ev.Fields[l.idIndex]
	switch v.Kind() {
	case stream.KindNull:
		return false
	case stream.KindInt:
		l.buf = strconv.AppendInt(l.buf[:0], v.Int(), 10)
	case stream.KindString:
		l.buf = append(l.buf[:0], v.Str()...)
	default:
		l.buf = v.AppendText(l.buf[:0])
	}
	return len(l.buf) > 0
}
