package enrich

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/stream"
)

// Unknown is what a Lookup does with an event whose hash is not found, or
// that lacks a value for a field of the key.
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

// LookupConfig sets up a Lookup. Name, Key and Schema are required.
type LookupConfig struct {
	// Name is the join name the record is attached under ("account").
	Name string
	// Key is the Redis key of the hash, a template over event fields in
	// stream.Template syntax: "account:{user}",
	// "geo:{country}:{city}" ("{{" and "}}" for literal braces). It needs
	// at least one placeholder; the special names ({$key}, ...) are not
	// allowed. An event lacking a value (null, absent or empty) for a
	// placeholder has no id: the Unknown policy applies.
	Key string
	// Schema types the record; hash fields are parsed per its kinds.
	// Fields missing from the hash (or empty, or unparsable: logged) stay
	// null; a hash with none of the schema's fields is an unknown id.
	Schema *stream.Schema
	// Unknown is the policy for unknown ids. Default PassUnknown.
	Unknown Unknown
	// Cache is the cache to use, possibly shared with other lookups of the
	// same keys. Default: a new cache built from CacheConfig. With one
	// placeholder in Key the cache is keyed by its value ("42"), with
	// several by the whole Redis key.
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
	if c.Key == "" {
		errs = append(errs, errors.New("enrich: LookupConfig.Key is required"))
	} else if _, err := keyTemplate(c.Key); err != nil {
		errs = append(errs, fmt.Errorf("enrich: LookupConfig.Key: %w", err))
	}
	if c.Schema == nil {
		errs = append(errs, errors.New("enrich: LookupConfig.Schema is required"))
	}
	if c.Unknown < PassUnknown || c.Unknown > DeadLetterUnknown {
		errs = append(errs, fmt.Errorf("enrich: LookupConfig.Unknown %d is not a policy", c.Unknown))
	}
	return errors.Join(errs...)
}

// Fields returns the event fields Key reads, in order of appearance; nil
// when Key is not a valid template (see Validate).
func (c LookupConfig) Fields() []string {
	t, err := keyTemplate(c.Key)
	if err != nil {
		return nil
	}
	return t.Fields()
}

// CheckSchema reports the fields of Key that events of schema in lack, so
// that a lookup that could never find an id is refused before it runs.
func (c LookupConfig) CheckSchema(in *stream.Schema) error {
	var missing []string
	for _, f := range c.Fields() {
		if in.Index(f) < 0 && !slices.Contains(missing, f) {
			missing = append(missing, f)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	have := make([]string, in.Len())
	for i := range have {
		have[i] = in.Field(i).Name
	}
	return fmt.Errorf("enrich: lookup %s: key %q reads %s, which events of schema %s lack (have %s)",
		c.Name, c.Key, strings.Join(missing, ", "), in.Name(), strings.Join(have, ","))
}

// keyTemplate parses a lookup or table key: a template with at least one
// placeholder, none of them special.
func keyTemplate(s string) (*stream.Template, error) {
	t, err := stream.ParseTemplate(s)
	if err != nil {
		return nil, err
	}
	fields := t.Fields()
	if len(fields) == 0 {
		return nil, fmt.Errorf("key %q has no placeholder: write the field holding the id in braces, e.g. \"account:{user}\"", s)
	}
	for _, f := range fields {
		if strings.HasPrefix(f, "$") {
			return nil, fmt.Errorf("key %q: {%s} is not allowed here: name a field", s, f)
		}
	}
	return t, nil
}

// keyAround returns the literal text of t before its first placeholder and
// after its last: the common prefix and suffix of two renderings whose
// placeholder values differ in their only byte.
func keyAround(t *stream.Template) (prefix, suffix string) {
	fields := t.Fields()
	fs := make([]stream.Field, 0, len(fields))
	for _, f := range fields {
		if !slices.ContainsFunc(fs, func(x stream.Field) bool { return x.Name == f }) {
			fs = append(fs, stream.Field{Name: f, Kind: stream.KindString})
		}
	}
	schema := stream.MustSchema("key", fs...)
	render := func(v string) string {
		ev := stream.Event{Schema: schema, Fields: make([]stream.Value, len(fs))}
		for i := range ev.Fields {
			ev.Fields[i] = stream.String(v)
		}
		s, _ := t.Render(&ev)
		return s
	}
	a, b := render("0"), render("1")
	n := 0
	for n < len(a) && a[n] == b[n] {
		n++
	}
	m := 0
	for m < len(a)-n && a[len(a)-1-m] == b[len(b)-1-m] {
		m++
	}
	return a[:n], a[len(a)-m:]
}

// Lookup is a stream.Operator joining a record from Redis onto each event.
// One Lookup is driven by one goroutine (as the runner does); several
// Lookups may share a Cache.
type Lookup struct {
	cfg       LookupConfig
	client    redis.UniversalClient
	ownLogger bool // the logger came from LookupConfig
	tmpl      *stream.Template
	fields    []string // the placeholders' fields, in order
	single    bool     // one placeholder: the cache is keyed by its value
	keyPrefix string   // the key's text before its first placeholder
	keySuffix string   // and after its last
	cache     *Cache
	fieldArgs []any // the schema's field names, boxed once for HMGET
	health    atomic.Pointer[Health]

	near near // memo of cache hits by int id (single only)

	// per-batch scratch
	idSchema  *stream.Schema // the schema idIndex and idIndexes are for
	idIndex   int            // single: the key field's index, or -1
	idIndexes []int          // several: each key field's index, or -1
	buf       []byte
	slots     []slot
	pending   map[string]int
	ids       []string
	results   []result
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
	l.tmpl, _ = keyTemplate(cfg.Key) // checked by Validate
	l.fields = l.tmpl.Fields()
	l.single = len(l.fields) == 1
	l.keyPrefix, l.keySuffix = keyAround(l.tmpl)
	for i := range cfg.Schema.Len() {
		l.fieldArgs = append(l.fieldArgs, cfg.Schema.Field(i).Name)
	}
	l.health.Store(&Health{Since: cfg.Clock.Now()})
	return l, nil
}

// Cache returns the lookup's cache.
func (l *Lookup) Cache() *Cache { return l.cache }

// Fields returns the event fields the lookup's key reads, in order.
func (l *Lookup) Fields() []string { return slices.Clone(l.fields) }

// Start refuses a key reading fields that the pipeline's input events lack,
// when their schema is known (stream.Env.Schema; see CheckSchema), and
// adopts the pipeline's logger when LookupConfig.Logger was nil.
func (l *Lookup) Start(_ context.Context, env stream.Env) error {
	if env.Schema != nil {
		if err := l.cfg.CheckSchema(env.Schema); err != nil {
			return err
		}
	}
	if !l.ownLogger && env.Logger != nil {
		l.cfg.Logger = env.Logger.With("lookup", l.cfg.Name)
	}
	return nil
}

// key is the Redis key of a cache id: the id itself when the key has
// several placeholders.
func (l *Lookup) key(id string) string {
	if !l.single {
		return id
	}
	return l.keyPrefix + id + l.keySuffix
}

// Advance does nothing: a lookup fires nothing on watermarks.
func (l *Lookup) Advance(context.Context, int64, *stream.Emitter) error { return nil }

// intID returns the id of ev if the key has one placeholder and its value
// is an int.
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

// findID finds the key's fields in the schema of ev.
func (l *Lookup) findID(ev *stream.Event) {
	l.idSchema, l.idIndex, l.idIndexes = ev.Schema, -1, l.idIndexes[:0]
	if ev.Schema == nil {
		return
	}
	if l.single {
		l.idIndex = ev.Schema.Index(l.fields[0])
		return
	}
	for _, f := range l.fields {
		l.idIndexes = append(l.idIndexes, ev.Schema.Index(f))
	}
}

// idOf writes the cache id of ev into l.buf: the value of the key's one
// field, or the whole key when it has several. False if a field's value is
// null, absent or empty.
func (l *Lookup) idOf(ev *stream.Event) bool {
	if !l.single {
		if l.missing(ev) != "" {
			return false
		}
		var err error
		l.buf, err = l.tmpl.AppendTo(l.buf[:0], ev)
		return err == nil
	}
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

// missing returns the first field of the key that ev has no value for
// (null, absent or empty), or "".
func (l *Lookup) missing(ev *stream.Event) string {
	if ev.Schema != l.idSchema {
		l.findID(ev)
	}
	for k, f := range l.fields {
		i := l.idIndex
		if !l.single {
			i = -1
			if k < len(l.idIndexes) {
				i = l.idIndexes[k]
			}
		}
		if i < 0 || i >= len(ev.Fields) {
			return f
		}
		if v := ev.Fields[i]; v.IsNull() || v.Kind() == stream.KindString && v.Str() == "" {
			return f
		}
	}
	return ""
}
