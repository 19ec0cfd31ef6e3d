package targets

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

// Config configures a Redis sink. Zero values mean the defaults.
type Config struct {
	// Name namespaces the sink's idempotency markers (default: its writes,
	// e.g. "XADD queue:ads"). Two sinks given the same events must have
	// different names, or the second would take them for replays.
	Name string
	// Writes are applied to every event, in order, by one script call with
	// the event's marker: a replay applies none of them again. Redis does
	// not roll a script back: if a write fails (WRONGTYPE), those before it
	// stay applied and the event stays unmarked (see the package doc).
	// Required.
	Writes []Write
	// Batch says when pending events are sent.
	Batch BatchPolicy
	// Retry is the backoff for failed batches.
	Retry Backoff
	// MarkerPrefix starts every marker key (default "rulestream:done:").
	// Markers are the event IDs, kept as members of sets named
	// MarkerPrefix + Name + ":" + a time bucket (see the write script); on
	// a Redis Cluster, MarkerPrefix + "{" + a tag of the slot + "}" + Name +
	// ":" + the bucket, so a MarkerPrefix holding "{" is refused there.
	MarkerPrefix string
	// MarkerTTL is how long a marker at least remembers a written event
	// (default 24h; it may remember up to twice as long while the sink
	// writes, three times after it stops): a replay within it changes
	// nothing. A marker costs Redis about 64 bytes (measured for
	// IDs of ~22 bytes) and a writing sink holds up to two TTLs of them, so
	// 1,000 writes/s under the default TTL come to about 11 GB: at high
	// rates, size the TTL to how far back a replay can reach (the last
	// checkpoint before a crash, plus the restart), not to a day.
	MarkerTTL time.Duration
	// ChunkSize is the number of events per script call; a batch is sent
	// as one pipeline of chunks (default 256, at most 4096: Lua's unpack
	// limits the IDs looked up at once).
	ChunkSize int
	// AllowNoID writes events without an ID, without a marker (not
	// idempotent). By default an event without ID is an error.
	AllowNoID bool
	// NoTransactions sends the events of a checkpointed partition in input
	// order (stream.Event.Seq) through the write script on one Redis too,
	// as on a cluster, rather than as plain commands in a WATCHed
	// transaction (see plain.go). The script costs Redis about twice as
	// much per event.
	NoTransactions bool
	// Clock drives the batch period (default: the wall clock).
	Clock stream.Clock
	// Logger receives retry warnings (nil: discard).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Name == "" {
		names := make([]string, len(c.Writes))
		for i, w := range c.Writes {
			names[i] = w.String()
		}
		c.Name = strings.Join(names, ",")
	}
	c.Batch.setDefaults()
	c.Retry.setDefaults()
	if c.MarkerPrefix == "" {
		c.MarkerPrefix = "rulestream:done:"
	}
	if c.MarkerTTL <= 0 {
		c.MarkerTTL = 24 * time.Hour
	}
	if c.ChunkSize <= 0 {
		c.ChunkSize = 256
	}
	if c.Clock == nil {
		c.Clock = stream.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if len(c.Writes) == 0 {
		return errors.New("targets: redis sink has no writes")
	}
	var errs []error
	for _, w := range c.Writes {
		errs = append(errs, w.Validate())
	}
	errs = append(errs, c.Batch.Validate())
	if c.ChunkSize > 4096 {
		errs = append(errs, errors.New("targets: ChunkSize above 4096"))
	}
	if c.MarkerTTL > 0 && c.MarkerTTL < time.Millisecond {
		errs = append(errs, errors.New("targets: MarkerTTL below 1ms"))
	}
	return errors.Join(errs...)
}

// Stats counts what a sink did.
type Stats struct {
	Written     int64 // events written for the first time
	Duplicates  int64 // events skipped because their marker existed
	Batches     int64 // batches sent successfully
	Failures    int64 // failed attempts (each retried or returned)
	ScriptLoads int64 // times the script was (re)loaded after NOSCRIPT
}

type stats struct {
	written, duplicates, batches, failures, loads atomic.Int64
}

func (s *stats) snapshot() Stats {
	return Stats{Written: s.written.Load(), Duplicates: s.duplicates.Load(), Batches: s.batches.Load(),
		Failures: s.failures.Load(), ScriptLoads: s.loads.Load()}
}

// chunk is the encoded input of one script call.
type chunk struct {
	p      packer
	script *script
	events int
	ids    []string            // event IDs, to name an event in errors
	seen   map[string]struct{} // the IDs in ids, but ""
	done   bool
	slot   *slotPart // on a cluster: the hash slot the chunk writes to
	// origin is the checkpointed partition and generation of the chunk's
	// events (nil: none; their markers expire after MarkerTTL), base the
	// key of its markers' state (see the write script).
	origin *stream.Origin
	base   string
	// seq: the chunk's events are in input order, each with its sequence
	// key in place of its ID (see seqHead); they carry no marker.
	seq bool
	// sh is the shape of a chunk in input order on one Redis: if its writes
	// are plain (shape.plain), the chunk may go as a transaction (plain.go).
	sh *shape
	// vals holds the chunk's strings decoded for a transaction (reused).
	vals [][]byte
}

// count returns the events the chunk counts in Stats and Pending: on a
// cluster, where an event's writes may span several chunks, only in the
// chunk of its first write.
func (c *chunk) count() int {
	if c.slot != nil {
		return c.slot.counted
	}
	return c.events
}

// shape is the sink's writes compiled for one event schema: the layout of
// their arguments and the write script generated from it (see genScript).
type shape struct {
	schema   *stream.Schema
	err      error // the schema cannot be written (a payload field missing)
	script   *script
	seq      *script            // the script of events in input order (stream.Event.Seq)
	commands [][]arg            // the layout of each write
	subs     map[uint64]*script // on a cluster: the script of a subset of the writes
	seqSubs  map[uint64]*script // on a cluster: the same, of events in input order
	plain    bool               // its writes can go as plain commands in a transaction (plainCommands)
	respTpl  [][]respSeg        // their RESP templates, made by the first (plain.go)
}

// script is a generated write script; schemas with the same layout share it.
type script struct {
	src, sha string
	loaded   bool // SCRIPT LOAD done since the last NOSCRIPT
	withID   bool // a script of events in input order whose chunk carries each ID after its sequence key
}

// RedisSink writes events to Redis with idempotent, batched, pipelined
// script calls. It implements stream.Sink, stream.Flusher and
// stream.Connecter. Write and Flush are called from one goroutine; Stats
// may be read from any.
type RedisSink struct {
	rdb     redis.Cmdable
	cfg     Config
	writers []*writer
	batch   *Batcher
	chunks  []*chunk // pending, the last one filling
	spare   []*chunk
	shapes  map[*stream.Schema]*shape
	scripts map[string]*script // by SHA1
	last    *shape
	marker  string
	ttl     string
	origins map[string]*stream.Origin // by marker state key: the latest origin written
	seqLast map[string]seqKeyT        // by marker state key: the last sequence key encoded (seqKey)
	pipe    *plainPipe                // one Redis: its own connection for the chunks in input order of plain writes (plain.go); nil otherwise
	stats   stats
	flights []*flight // the batches being sent, oldest first: one, or two of plain transactions
	closed  bool
	cluster *clusterState // nil on a single Redis
}

// NewRedis returns a sink writing to rdb: a *redis.Client, a
// *redis.ClusterClient (each script call then writes the keys of one hash
// slot; see the package doc) or anything Cmdable that talks to one server.
func NewRedis(rdb redis.Cmdable, cfg Config) (*RedisSink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	s := &RedisSink{rdb: rdb, cfg: cfg, batch: NewBatcher(cfg.Batch, cfg.Clock),
		ttl: strconv.FormatInt(cfg.MarkerTTL.Milliseconds(), 10), shapes: map[*stream.Schema]*shape{},
		scripts: map[string]*script{}}
	for _, w := range cfg.Writes {
		c, err := compile(w)
		if err != nil {
			return nil, err
		}
		s.writers = append(s.writers, c)
	}
	s.marker = cfg.MarkerPrefix + cfg.Name + ":"
	s.origins = map[string]*stream.Origin{}
	s.seqLast = map[string]seqKeyT{}
	if c, ok := rdb.(*redis.Client); ok && !cfg.NoTransactions && plainDialable(c.Options()) {
		s.pipe = &plainPipe{opt: c.Options(), chain: map[string]string{}, marks: map[string]string{}, broken: map[string]bool{}}
	}
	if _, ok := rdb.(*redis.ClusterClient); ok {
		cs, err := newClusterState(s.writers, cfg)
		if err != nil {
			return nil, err
		}
		s.cluster = cs
	}
	return s, nil
}

// Name returns the sink's marker namespace.
func (s *RedisSink) Name() string { return s.cfg.Name }

// Stats returns the sink's counters.
func (s *RedisSink) Stats() Stats { return s.stats.snapshot() }

// Pending returns the number of events not yet written: pending and in
// flight. Call it from the goroutine that calls Write.
func (s *RedisSink) Pending() int {
	n := s.pending()
	for _, f := range s.flights {
		select {
		case <-f.done: // landed: what it did not apply is pending
			if f.err != nil {
				n += unapplied(f.chunks)
			}
		default: // c.done is being written
			n += f.events
		}
	}
	return n
}

// Connect checks that Redis answers and can run scripts. The write scripts
// themselves are loaded when a schema is first written.
func (s *RedisSink) Connect(ctx context.Context) error {
	if err := s.rdb.Eval(ctx, "return 1", nil).Err(); err != nil {
		return fmt.Errorf("targets: redis sink %s: %w", s.cfg.Name, err)
	}
	return nil
}

// maxArgs is the most arguments of one command: Lua's unpack stops at
// about 8000 values.
const maxArgs = 7900

// scriptOf returns the sink's script of src, whose SHA1 is sha.
func (s *RedisSink) scriptOf(src, sha string) *script {
	sc := s.scripts[sha]
	if sc == nil {
		sc = &script{src: src, sha: sha}
		s.scripts[sha] = sc
	}
	return sc
}

// maxShapes bounds the schemas a sink remembers.
const maxShapes = 1024

// shapeOf returns the compiled shape for events of schema sc.
func (s *RedisSink) shapeOf(sc *stream.Schema) *shape {
	if s.last != nil && s.last.schema == sc {
		return s.last
	}
	sh, ok := s.shapes[sc]
	if !ok {
		sh = &shape{schema: sc, subs: map[uint64]*script{}, seqSubs: map[uint64]*script{}}
		var commands [][]arg
		for _, w := range s.writers {
			args, err := w.layout(sc)
			if err == nil && len(args) > maxArgs {
				err = fmt.Errorf("%s: schema %s makes a command of %d arguments, more than the %d a script can pass", w.w, schemaName(sc), len(args), maxArgs)
			}
			if err != nil {
				sh.err = err
				break
			}
			commands = append(commands, args)
		}
		sh.commands = commands
		if sh.err == nil {
			sh.script = s.scriptOf(genScript(commands, false))
			sh.seq = s.scriptOf(genSeqScript(commands, false))
			sh.seq.withID = usesID(commands)
			sh.plain = plainCommands(commands)
		}
		if len(s.shapes) >= maxShapes { // schemas made per event: keep the caches bounded
			clear(s.shapes)
			clear(s.scripts) // scripts in use stay referenced by their chunks
		}
		s.shapes[sc] = sh
	}
	s.last = sh
	return sh
}
